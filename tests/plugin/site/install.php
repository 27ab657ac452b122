<?php
/**
 * Installs WordPress into the test's database without a browser, then activates nothing:
 * the test activates the plugin through wp-admin. Prints the ids of the pages it made.
 *
 * Usage: php install.php ROOT URL
 *
 * @package ShopAlliance
 */

define( 'ABSPATH', rtrim( $argv[1], '/' ) . '/' );
define( 'WP_INSTALLING', true );
$_SERVER['HTTP_HOST']   = (string) parse_url( $argv[2], PHP_URL_HOST ) . ':' . (string) parse_url( $argv[2], PHP_URL_PORT );
$_SERVER['REQUEST_URI'] = '/';

require ABSPATH . 'wp-load.php';
require ABSPATH . 'wp-admin/includes/upgrade.php';

wp_install( 'Li test shop', 'admin', 'admin@example.com', false, '', 'alliance-admin-password' );
switch_theme( 'alliance-test' );
update_option( 'permalink_structure', '' );

$shortcode = wp_insert_post(
	array(
		'post_title'   => 'Our favourite baby things',
		'post_content' => "<p>What we love this month.</p>\n[shop_alliance_block placement=\"article\"]\n<p>Thanks for reading.</p>",
		'post_status'  => 'publish',
	)
);
$block = wp_insert_post(
	array(
		'post_title'   => 'Gifts for newborns',
		'post_content' => "<!-- wp:paragraph --><p>Gift ideas.</p><!-- /wp:paragraph -->\n<!-- wp:shop-alliance/partner-block {\"placement\":\"article\"} /-->",
		'post_status'  => 'publish',
	)
);
$plain = wp_insert_post(
	array(
		'post_title'   => 'A page without the block',
		'post_content' => "<p>What we love this month.</p>\n<p>Thanks for reading.</p>",
		'post_status'  => 'publish',
	)
);
echo wp_json_encode( array( 'shortcode' => $shortcode, 'block' => $block, 'plain' => $plain ) );
