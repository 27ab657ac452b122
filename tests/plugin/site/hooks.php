<?php
/**
 * Fires WooCommerce's hooks as WooCommerce would (it is not packaged for Debian) and prints
 * what the plugin printed on each, as JSON: the product page, the cart, and the thank-you
 * page of order ORDER_ID.
 *
 * Usage: php hooks.php ROOT URL ORDER_ID
 *
 * @package ShopAlliance
 */

define( 'ABSPATH', rtrim( $argv[1], '/' ) . '/' );
$_SERVER['HTTP_HOST']   = (string) parse_url( $argv[2], PHP_URL_HOST ) . ':' . (string) parse_url( $argv[2], PHP_URL_PORT );
$_SERVER['REQUEST_URI'] = '/';
require ABSPATH . 'wp-load.php';

$printed = array();
foreach (
	array(
		'woocommerce_after_single_product_summary' => array(),
		'woocommerce_after_cart'                   => array(),
		'woocommerce_thankyou'                     => array( (int) $argv[3] ),
	) as $hook => $args
) {
	ob_start();
	do_action( $hook, ...$args );
	$printed[ $hook ] = ob_get_clean();
}
echo wp_json_encode( $printed );
