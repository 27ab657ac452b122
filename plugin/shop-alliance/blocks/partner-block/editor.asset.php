<?php
/**
 * The editor script's dependencies (what a build step would write; written by hand here).
 *
 * @package ShopAlliance
 */

defined( 'ABSPATH' ) || exit;

return array(
	'dependencies' => array( 'wp-blocks', 'wp-element', 'wp-server-side-render', 'wp-block-editor', 'wp-components', 'wp-i18n' ),
	'version'      => '0.1.0',
);
