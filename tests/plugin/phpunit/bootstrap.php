<?php
/**
 * PHPUnit bootstrap: the plugin's pure functions, without WordPress.
 *
 * @package ShopAlliance
 */

define( 'ABSPATH', __DIR__ . '/' );
require_once dirname( __DIR__, 3 ) . '/plugin/shop-alliance/includes/functions.php';
