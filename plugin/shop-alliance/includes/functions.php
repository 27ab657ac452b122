<?php
/**
 * Pure functions: URLs, cache keys, Cache-Control, order references. No WordPress state is
 * read or written here, so PHPUnit tests them without WordPress (tests/plugin).
 *
 * @package ShopAlliance
 */

defined( 'ABSPATH' ) || exit;

/** Placements the alliance app knows (widgets/blocks.py). */
const SHOP_ALLIANCE_PLACEMENTS = array( 'product', 'cart', 'thankyou', 'article' );

/** The options, one array in one row (removed by uninstall.php). */
const SHOP_ALLIANCE_OPTION = 'shop_alliance_settings';

/** Seconds the storefront waits for the app before it prints nothing. */
const SHOP_ALLIANCE_TIMEOUT = 0.8;

/** The longest a block is kept, whatever the app says: a day. */
const SHOP_ALLIANCE_MAX_CACHE_SECONDS = 86400;

/** Seconds a failed fetch is remembered, so a down app costs one timeout per this, not per page. */
const SHOP_ALLIANCE_DOWN_SECONDS = 30;

/**
 * The settings with their defaults.
 *
 * @param mixed $stored What get_option() returned.
 * @return array{app_url: string, member: string, placements: string[], order_secret: string}
 */
function shop_alliance_settings_with_defaults( $stored ) {
	$stored = is_array( $stored ) ? $stored : array();
	return array(
		'app_url'      => isset( $stored['app_url'] ) ? (string) $stored['app_url'] : '',
		'member'       => isset( $stored['member'] ) ? (string) $stored['member'] : '',
		'placements'   => isset( $stored['placements'] ) && is_array( $stored['placements'] )
			? array_values( array_intersect( SHOP_ALLIANCE_PLACEMENTS, $stored['placements'] ) )
			: array( 'product', 'cart', 'thankyou' ),
		'order_secret' => isset( $stored['order_secret'] ) ? (string) $stored['order_secret'] : '',
	);
}

/**
 * Is this a placement the app serves?
 *
 * @param mixed $placement Anything.
 */
function shop_alliance_is_placement( $placement ) {
	return is_string( $placement ) && in_array( $placement, SHOP_ALLIANCE_PLACEMENTS, true );
}

/**
 * A member id as the agreement writes them: lowercase letters, digits, - and _.
 *
 * @param mixed $member Anything.
 */
function shop_alliance_clean_member( $member ) {
	$member = strtolower( trim( (string) $member ) );
	return preg_match( '/^[a-z0-9][a-z0-9_-]{0,63}$/', $member ) ? $member : '';
}

/**
 * The app's base URL: http(s), a host, no query or fragment, no trailing slash; '' if not one.
 *
 * @param mixed $url Anything.
 */
function shop_alliance_clean_app_url( $url ) {
	$url   = trim( (string) $url );
	$parts = parse_url( $url ); // phpcs:ignore WordPress.WP.AlternativeFunctions.parse_url_parse_url -- pure, no WordPress here.
	if ( ! is_array( $parts ) || empty( $parts['host'] ) || empty( $parts['scheme'] ) ) {
		return '';
	}
	$scheme = strtolower( $parts['scheme'] );
	if ( 'http' !== $scheme && 'https' !== $scheme ) {
		return '';
	}
	if ( isset( $parts['user'] ) || isset( $parts['pass'] ) || isset( $parts['query'] ) || isset( $parts['fragment'] ) ) {
		return '';
	}
	$port = isset( $parts['port'] ) ? ':' . (int) $parts['port'] : '';
	$path = isset( $parts['path'] ) ? rtrim( $parts['path'], '/' ) : '';
	return $scheme . '://' . strtolower( $parts['host'] ) . $port . $path;
}

/**
 * The app's language for a WordPress locale: Chinese (any) is zh-Hans, everything else en.
 *
 * @param string $locale E.g. zh_CN, en_US.
 */
function shop_alliance_language( $locale ) {
	return 0 === strpos( strtolower( (string) $locale ), 'zh' ) ? 'zh-Hans' : 'en';
}

/**
 * The block's URL: /w/<member>/<placement>?lang=..[&order=..].
 *
 * @param string $app_url   Clean base URL of the app.
 * @param string $member    This shop's member id.
 * @param string $placement One of SHOP_ALLIANCE_PLACEMENTS.
 * @param string $language  en or zh-Hans.
 * @param string $order_ref Signed order reference (thank-you page), or ''.
 */
function shop_alliance_block_url( $app_url, $member, $placement, $language, $order_ref = '' ) {
	$query = array( 'lang' => $language );
	if ( '' !== $order_ref ) {
		$query['order'] = $order_ref;
	}
	return $app_url . '/w/' . rawurlencode( $member ) . '/' . rawurlencode( $placement ) . '?'
		. http_build_query( $query, '', '&', PHP_QUERY_RFC3986 );
}

/**
 * Where the "Connect to the alliance" button leads: the app's /connect/<member>.
 *
 * @param string $app_url    Clean base URL of the app.
 * @param string $member     This shop's member id.
 * @param string $return_url The settings page, to come back to.
 */
function shop_alliance_connect_url( $app_url, $member, $return_url ) {
	return $app_url . '/connect/' . rawurlencode( $member ) . '?'
		. http_build_query( array( 'return_url' => $return_url ), '', '&', PHP_QUERY_RFC3986 );
}

/**
 * The transient's name for one block: short (WordPress allows 172 characters) and different
 * for every URL that gives a different block.
 *
 * @param string $block_url The URL fetched.
 */
function shop_alliance_cache_key( $block_url ) {
	return 'shop_alliance_' . substr( hash( 'sha256', $block_url ), 0, 32 );
}

/**
 * Seconds an answer may be kept, from its Cache-Control: max-age, or 0 for no-store,
 * private, no-cache or none.
 *
 * @param string $cache_control The header's value.
 */
function shop_alliance_max_age( $cache_control ) {
	$directives = array_map( 'trim', explode( ',', strtolower( (string) $cache_control ) ) );
	foreach ( array( 'no-store', 'no-cache', 'private' ) as $refused ) {
		if ( in_array( $refused, $directives, true ) ) {
			return 0;
		}
	}
	foreach ( $directives as $directive ) {
		if ( preg_match( '/^(?:max-age|s-maxage)=(\d{1,9})$/', $directive, $found ) ) {
			return min( (int) $found[1], SHOP_ALLIANCE_MAX_CACHE_SECONDS );
		}
	}
	return 0;
}

/**
 * The thank-you page's signed order reference (README, "The thank-you block shows the
 * order's gift pack"; widgets/order_refs.py is the reference): names an order, never a person.
 *
 * @param string     $secret   The shared order-reference secret.
 * @param string     $member   This shop's member id.
 * @param int|string $order_id The order's id.
 */
function shop_alliance_order_reference( $secret, $member, $order_id ) {
	$order_id = (string) shop_alliance_absint( $order_id );
	if ( '' === (string) $secret || '0' === $order_id ) {
		return '';
	}
	$key = hash_hmac( 'sha256', 'alliance thankyou order ref', $secret, true );
	$tag = substr( hash_hmac( 'sha256', $member . '/' . $order_id, $key, true ), 0, 16 );
	return rtrim( strtr( base64_encode( $order_id . $tag ), '+/', '-_' ), '=' ); // phpcs:ignore WordPress.PHP.DiscouragedPHPFunctions.obfuscation_base64_encode -- the reference format.
}

/**
 * A non-negative whole number (absint() without WordPress).
 *
 * @param mixed $value Anything.
 */
function shop_alliance_absint( $value ) {
	return is_numeric( $value ) ? abs( (int) $value ) : 0;
}
