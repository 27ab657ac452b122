<?php
/**
 * Server-side render of the "Partner products" block.
 *
 * @package ShopAlliance
 *
 * @var array $attributes The block's attributes.
 */

defined( 'ABSPATH' ) || exit;

$shop_alliance_placement = isset( $attributes['placement'] ) ? sanitize_key( $attributes['placement'] ) : 'article';
echo shop_alliance_placements()->render_block( $shop_alliance_placement ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- the alliance app's HTML, escaped by the app.
