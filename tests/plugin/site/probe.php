<?php
/**
 * Reads the running site from the command line: loads WordPress (with its active plugins)
 * and prints, as JSON, the plugin's option and the callbacks on the WooCommerce hooks.
 *
 * Usage: php probe.php ROOT URL
 *
 * @package ShopAlliance
 */

define( 'ABSPATH', rtrim( $argv[1], '/' ) . '/' );
$_SERVER['HTTP_HOST']   = (string) parse_url( $argv[2], PHP_URL_HOST ) . ':' . (string) parse_url( $argv[2], PHP_URL_PORT );
$_SERVER['REQUEST_URI'] = '/';
require ABSPATH . 'wp-load.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';

$hooks = array();
foreach ( array( 'woocommerce_after_single_product_summary', 'woocommerce_after_cart', 'woocommerce_thankyou', 'before_woocommerce_init' ) as $hook ) {
	$hooks[ $hook ] = false !== has_action( $hook );
}
echo wp_json_encode(
	array(
		'settings'   => get_option( 'shop_alliance_settings' ),
		'hooks'      => $hooks,
		'shortcode'  => shortcode_exists( 'shop_alliance_block' ),
		'block'      => WP_Block_Type_Registry::get_instance()->is_registered( 'shop-alliance/partner-block' ),
		'active'     => is_plugin_active( 'shop-alliance/shop-alliance.php' ),
		'wp_version' => get_bloginfo( 'version' ),
	)
);
