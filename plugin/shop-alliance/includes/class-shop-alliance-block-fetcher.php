<?php
/**
 * Fetches the partner block from the alliance app, server side, and keeps it in a transient.
 *
 * The page never waits longer than SHOP_ALLIANCE_TIMEOUT for the app, and never breaks: when
 * the app is down or answers with an error, the block prints nothing and the failure is kept
 * (one autoloaded option, one write): for SHOP_ALLIANCE_DOWN_SECONDS the app is not asked
 * again, so a down app costs one timeout per that time, not one per page view, and
 * administrators see why in a notice until the app answers again.
 *
 * @package ShopAlliance
 */

defined( 'ABSPATH' ) || exit;

/**
 * The block, as HTML the app rendered (and escaped: autoescape on everywhere), or ''.
 */
class Shop_Alliance_Block_Fetcher {

	/** Option holding the last failure (autoloaded: reading it costs no query). */
	const FAILURE_OPTION = 'shop_alliance_last_failure';

	/**
	 * The settings (shop_alliance_settings_with_defaults()).
	 *
	 * @return array
	 */
	public function settings() {
		return shop_alliance_settings_with_defaults( get_option( SHOP_ALLIANCE_OPTION, array() ) );
	}

	/**
	 * The block's HTML for a placement, or '' when it is off, unconfigured or the app is down.
	 *
	 * @param string $placement One of SHOP_ALLIANCE_PLACEMENTS.
	 * @param int    $order_id  The order on the thank-you page, else 0.
	 * @return string
	 */
	public function block( $placement, $order_id = 0 ) {
		$settings = $this->settings();
		if ( ! shop_alliance_is_placement( $placement ) || '' === $settings['app_url'] || '' === $settings['member'] ) {
			return '';
		}
		$order_ref = $order_id ? shop_alliance_order_reference( $settings['order_secret'], $settings['member'], $order_id ) : '';
		$url       = shop_alliance_block_url(
			$settings['app_url'],
			$settings['member'],
			$placement,
			shop_alliance_language( determine_locale() ),
			$order_ref
		);
		$key    = shop_alliance_cache_key( $url );
		$cached = get_transient( $key );
		if ( is_array( $cached ) && isset( $cached['html'] ) ) {
			return (string) $cached['html'];
		}
		$failure = $this->last_failure();
		if ( null !== $failure && time() - (int) $failure['at'] < SHOP_ALLIANCE_DOWN_SECONDS ) {
			return '';
		}
		return $this->fetch( $url, $key );
	}

	/**
	 * One request to the app; the answer is kept for its Cache-Control lifetime.
	 *
	 * @param string $url The block's URL.
	 * @param string $key Its transient.
	 * @return string
	 */
	private function fetch( $url, $key ) {
		$response = wp_remote_get(
			$url,
			array(
				'timeout'     => (float) apply_filters( 'shop_alliance_timeout', SHOP_ALLIANCE_TIMEOUT ),
				'redirection' => 0,
				'headers'     => array( 'Accept' => 'text/html' ),
				'user-agent'  => 'ShopAlliance/' . SHOP_ALLIANCE_VERSION . ' (WordPress)',
			)
		);
		if ( is_wp_error( $response ) ) {
			return $this->failed( $response->get_error_message() );
		}
		$status = (int) wp_remote_retrieve_response_code( $response );
		if ( 204 === $status ) {
			$html = '';
		} elseif ( 200 === $status ) {
			$html = (string) wp_remote_retrieve_body( $response );
		} else {
			/* translators: %d: an HTTP status code. */
			return $this->failed( sprintf( __( 'the alliance app answered HTTP %d', 'shop-alliance' ), $status ) );
		}
		$max_age = shop_alliance_max_age( (string) wp_remote_retrieve_header( $response, 'cache-control' ) );
		if ( $max_age > 0 ) {
			set_transient( $key, array( 'html' => $html ), $max_age );
		}
		if ( null !== $this->last_failure() ) {
			delete_option( self::FAILURE_OPTION );
		}
		return $html;
	}

	/**
	 * Remember why the block is missing (for the admin notice) and print nothing.
	 *
	 * @param string $reason What went wrong.
	 * @return string
	 */
	private function failed( $reason ) {
		update_option(
			self::FAILURE_OPTION,
			array(
				'at'     => time(),
				'reason' => sanitize_text_field( $reason ),
			),
			true
		);
		return '';
	}

	/**
	 * The last failure, if any: array with 'at' (a Unix time) and 'reason'.
	 *
	 * @return array|null
	 */
	public function last_failure() {
		$failure = get_option( self::FAILURE_OPTION );
		return is_array( $failure ) && isset( $failure['at'], $failure['reason'] ) ? $failure : null;
	}
}
