<?php
/**
 * Removes what the plugin stored: its options and its cached blocks.
 *
 * @package ShopAlliance
 */

defined( 'WP_UNINSTALL_PLUGIN' ) || exit;

delete_option( 'shop_alliance_settings' );
delete_option( 'shop_alliance_last_failure' );

global $wpdb;
// Cached blocks: transients named shop_alliance_<hash>; no API lists transients by prefix.
$wpdb->query( // phpcs:ignore WordPress.DB.DirectDatabaseQuery -- removing our own transients once, on uninstall.
	$wpdb->prepare(
		"DELETE FROM {$wpdb->options} WHERE option_name LIKE %s OR option_name LIKE %s",
		$wpdb->esc_like( '_transient_shop_alliance_' ) . '%',
		$wpdb->esc_like( '_transient_timeout_shop_alliance_' ) . '%'
	)
);
