<?php
/**
 * Plugin Name:       Shop Alliance
 * Plugin URI:        https://github.com/shop-alliance/shop-alliance
 * Description:       Shows your partners' products ("Recommended by our partners") on product, cart, thank-you and article pages, and connects your WooCommerce store to your shop alliance.
 * Version:           0.1.0
 * Requires at least: 6.1
 * Requires PHP:      7.4
 * Author:            shop-alliance contributors
 * License:           MIT
 * License URI:       https://opensource.org/licenses/MIT
 * Text Domain:       shop-alliance
 * WC requires at least: 8.0
 *
 * @package ShopAlliance
 */

defined( 'ABSPATH' ) || exit;

define( 'SHOP_ALLIANCE_VERSION', '0.1.0' );
define( 'SHOP_ALLIANCE_FILE', __FILE__ );
define( 'SHOP_ALLIANCE_DIR', plugin_dir_path( __FILE__ ) );

require_once SHOP_ALLIANCE_DIR . 'includes/functions.php';
require_once SHOP_ALLIANCE_DIR . 'includes/class-shop-alliance-block-fetcher.php';
require_once SHOP_ALLIANCE_DIR . 'includes/class-shop-alliance-placements.php';
require_once SHOP_ALLIANCE_DIR . 'includes/class-shop-alliance-settings.php';

add_action(
	'before_woocommerce_init',
	static function () {
		if ( class_exists( '\Automattic\WooCommerce\Utilities\FeaturesUtil' ) ) {
			\Automattic\WooCommerce\Utilities\FeaturesUtil::declare_compatibility( 'custom_order_tables', __FILE__, true );
		}
	}
);

add_action(
	'plugins_loaded',
	static function () {
		shop_alliance_placements()->register();
		( new Shop_Alliance_Settings( new Shop_Alliance_Block_Fetcher() ) )->register();
	}
);
