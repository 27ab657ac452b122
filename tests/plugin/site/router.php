<?php
/**
 * Router for PHP's built-in server: WordPress from a temporary root whose wp-config.php is the
 * test's own. ABSPATH is set here, so wp-load.php (a symlink into /usr/share/wordpress) loads
 * this root's wp-config.php, not Debian's.
 *
 * @package ShopAlliance
 */

define( 'ABSPATH', getenv( 'ALLIANCE_WP_ROOT' ) . '/' );

$shop_alliance_path = (string) parse_url( $_SERVER['REQUEST_URI'], PHP_URL_PATH );
$shop_alliance_file = ABSPATH . ltrim( $shop_alliance_path, '/' );
if ( is_dir( $shop_alliance_file ) ) {
	$shop_alliance_path = rtrim( $shop_alliance_path, '/' ) . '/index.php';
	$shop_alliance_file = ABSPATH . ltrim( $shop_alliance_path, '/' );
}
if ( is_file( $shop_alliance_file ) && '.php' !== substr( $shop_alliance_file, -4 ) ) {
	return false; // a static file: the built-in server sends it.
}
if ( ! is_file( $shop_alliance_file ) ) {
	$shop_alliance_path = '/index.php';
	$shop_alliance_file = ABSPATH . 'index.php';
}
$_SERVER['SCRIPT_NAME']     = $shop_alliance_path;
$_SERVER['PHP_SELF']        = $shop_alliance_path;
$_SERVER['SCRIPT_FILENAME'] = $shop_alliance_file;
chdir( dirname( $shop_alliance_file ) );
require $shop_alliance_file;
