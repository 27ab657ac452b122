<?php
/**
 * The settings page (under WooCommerce, or under Settings while WooCommerce is not active):
 * the app's URL, this shop's member id, the placements, the order-reference secret, the
 * "Connect to the alliance" button and the connection's state; plus the admin notice that
 * says why blocks are missing when the app cannot be reached.
 *
 * Options go through the Settings API (options.php checks the nonce and manage_options).
 *
 * @package ShopAlliance
 */

defined( 'ABSPATH' ) || exit;

/**
 * The admin side.
 */
class Shop_Alliance_Settings {

	const PAGE  = 'shop-alliance';
	const GROUP = 'shop_alliance';

	/**
	 * Where blocks come from (for the failure notice).
	 *
	 * @var Shop_Alliance_Block_Fetcher
	 */
	private $fetcher;

	/**
	 * Constructor.
	 *
	 * @param Shop_Alliance_Block_Fetcher $fetcher Where blocks come from.
	 */
	public function __construct( Shop_Alliance_Block_Fetcher $fetcher ) {
		$this->fetcher = $fetcher;
	}

	/**
	 * Hook in.
	 */
	public function register() {
		add_action( 'admin_menu', array( $this, 'menu' ), 60 );
		add_action( 'admin_init', array( $this, 'settings' ) );
		add_action( 'admin_notices', array( $this, 'notice' ) );
	}

	/**
	 * The page, under WooCommerce when it is there.
	 */
	public function menu() {
		$title = __( 'Shop Alliance', 'shop-alliance' );
		if ( class_exists( 'WooCommerce' ) ) {
			add_submenu_page( 'woocommerce', $title, $title, 'manage_options', self::PAGE, array( $this, 'page' ) );
		} else {
			add_options_page( $title, $title, 'manage_options', self::PAGE, array( $this, 'page' ) );
		}
	}

	/**
	 * The option and its sanitizer.
	 */
	public function settings() {
		register_setting(
			self::GROUP,
			SHOP_ALLIANCE_OPTION,
			array(
				'type'              => 'array',
				'sanitize_callback' => array( $this, 'sanitize' ),
				'default'           => shop_alliance_settings_with_defaults( array() ),
			)
		);
	}

	/**
	 * Clean what the form sent; a bad URL or member id is refused with a message.
	 *
	 * @param mixed $input The form's values.
	 * @return array
	 */
	public function sanitize( $input ) {
		$input    = is_array( $input ) ? wp_unslash( $input ) : array();
		$previous = $this->fetcher->settings();
		$app_url  = shop_alliance_clean_app_url( isset( $input['app_url'] ) ? esc_url_raw( (string) $input['app_url'] ) : '' );
		$member   = shop_alliance_clean_member( isset( $input['member'] ) ? sanitize_text_field( (string) $input['member'] ) : '' );
		if ( '' === $app_url && ! empty( $input['app_url'] ) ) {
			add_settings_error( SHOP_ALLIANCE_OPTION, 'app_url', __( 'The alliance app URL must be an http(s) address, without a query; it was not changed.', 'shop-alliance' ) );
			$app_url = $previous['app_url'];
		}
		if ( '' === $member && ! empty( $input['member'] ) ) {
			add_settings_error( SHOP_ALLIANCE_OPTION, 'member', __( 'The member id is the one in the alliance agreement: lowercase letters, digits, - and _; it was not changed.', 'shop-alliance' ) );
			$member = $previous['member'];
		}
		$placements = isset( $input['placements'] ) && is_array( $input['placements'] )
			? array_map( 'sanitize_key', $input['placements'] )
			: array();
		$secret     = isset( $input['order_secret'] ) ? sanitize_text_field( (string) $input['order_secret'] ) : '';
		return shop_alliance_settings_with_defaults(
			array(
				'app_url'      => $app_url,
				'member'       => $member,
				'placements'   => $placements,
				'order_secret' => '' === $secret ? $previous['order_secret'] : $secret,
			)
		);
	}

	/**
	 * The alliance's webhooks in this store (WooCommerce's own record), or null without
	 * WooCommerce.
	 *
	 * @param string $app_url The app's URL.
	 * @return int|null
	 */
	private function alliance_webhooks( $app_url ) {
		if ( ! function_exists( 'wc_get_webhook' ) || ! class_exists( 'WC_Data_Store' ) || '' === $app_url ) {
			return null;
		}
		$count = 0;
		$store = WC_Data_Store::load( 'webhook' );
		foreach ( $store->search_webhooks( array( 'status' => 'active' ) ) as $webhook_id ) {
			$webhook = wc_get_webhook( $webhook_id );
			if ( $webhook && 0 === strpos( $webhook->get_delivery_url(), $app_url . '/' ) ) {
				++$count;
			}
		}
		return $count;
	}

	/**
	 * The page.
	 */
	public function page() {
		if ( ! current_user_can( 'manage_options' ) ) {
			wp_die( esc_html__( 'Sorry, you are not allowed to manage the alliance settings.', 'shop-alliance' ), 403 );
		}
		$settings = $this->fetcher->settings();
		$back     = admin_url( ( class_exists( 'WooCommerce' ) ? 'admin.php' : 'options-general.php' ) . '?page=' . self::PAGE );
		$names    = array(
			'product'  => __( 'Product pages', 'shop-alliance' ),
			'cart'     => __( 'Cart', 'shop-alliance' ),
			'thankyou' => __( 'Thank-you page (with the order\'s gift pack)', 'shop-alliance' ),
			'article'  => __( 'Articles (shortcode and block; always on where you put them)', 'shop-alliance' ),
		);
		$option   = SHOP_ALLIANCE_OPTION;
		?>
		<div class="wrap">
			<h1><?php esc_html_e( 'Shop Alliance', 'shop-alliance' ); ?></h1>
			<?php settings_errors( SHOP_ALLIANCE_OPTION ); ?>
			<form method="post" action="options.php">
				<?php settings_fields( self::GROUP ); ?>
				<table class="form-table" role="presentation">
					<tr>
						<th scope="row"><label for="shop-alliance-app-url"><?php esc_html_e( 'Alliance app URL', 'shop-alliance' ); ?></label></th>
						<td><input type="url" class="regular-text" id="shop-alliance-app-url" name="<?php echo esc_attr( $option ); ?>[app_url]" value="<?php echo esc_attr( $settings['app_url'] ); ?>" placeholder="https://go.example"></td>
					</tr>
					<tr>
						<th scope="row"><label for="shop-alliance-member"><?php esc_html_e( 'Your member id', 'shop-alliance' ); ?></label></th>
						<td><input type="text" class="regular-text" id="shop-alliance-member" name="<?php echo esc_attr( $option ); ?>[member]" value="<?php echo esc_attr( $settings['member'] ); ?>" placeholder="li">
						<p class="description"><?php esc_html_e( 'As the alliance agreement names your shop.', 'shop-alliance' ); ?></p></td>
					</tr>
					<tr>
						<th scope="row"><?php esc_html_e( 'Show partner products on', 'shop-alliance' ); ?></th>
						<td><fieldset>
						<?php foreach ( $names as $placement => $label ) : ?>
							<label><input type="checkbox" name="<?php echo esc_attr( $option ); ?>[placements][]" value="<?php echo esc_attr( $placement ); ?>" <?php checked( in_array( $placement, $settings['placements'], true ) ); ?>> <?php echo esc_html( $label ); ?></label><br>
						<?php endforeach; ?>
						</fieldset></td>
					</tr>
					<tr>
						<th scope="row"><label for="shop-alliance-order-secret"><?php esc_html_e( 'Order-reference secret', 'shop-alliance' ); ?></label></th>
						<td><input type="password" class="regular-text" id="shop-alliance-order-secret" name="<?php echo esc_attr( $option ); ?>[order_secret]" value="" autocomplete="off" placeholder="<?php echo esc_attr( '' === $settings['order_secret'] ? __( 'not set', 'shop-alliance' ) : __( 'set (leave empty to keep)', 'shop-alliance' ) ); ?>">
						<p class="description"><?php esc_html_e( 'Shared with the alliance; it signs the order number on the thank-you page so the block can show that order\'s gift pack. No customer data is sent.', 'shop-alliance' ); ?></p></td>
					</tr>
				</table>
				<?php submit_button(); ?>
			</form>
			<h2><?php esc_html_e( 'Connection', 'shop-alliance' ); ?></h2>
			<?php $this->connection_state( $settings ); ?>
			<?php if ( '' !== $settings['app_url'] && '' !== $settings['member'] ) : ?>
				<p><a class="button button-primary" id="shop-alliance-connect" href="<?php echo esc_url( shop_alliance_connect_url( $settings['app_url'], $settings['member'], $back ) ); ?>"><?php esc_html_e( 'Connect to the alliance', 'shop-alliance' ); ?></a></p>
				<p class="description"><?php esc_html_e( 'WooCommerce asks you to approve a read/write key for the alliance; the alliance keeps it encrypted and sets up its webhooks. No key to copy.', 'shop-alliance' ); ?></p>
			<?php else : ?>
				<p><?php esc_html_e( 'Save the app URL and your member id first.', 'shop-alliance' ); ?></p>
			<?php endif; ?>
		</div>
		<?php
	}

	/**
	 * What is known about the connection.
	 *
	 * @param array $settings The settings.
	 */
	private function connection_state( array $settings ) {
		// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- read-only: WooCommerce's return from approving, shown as such.
		$returned = isset( $_GET['success'] ) ? sanitize_key( wp_unslash( $_GET['success'] ) ) : '';
		if ( '1' === $returned ) {
			echo '<div class="notice notice-success inline"><p>' . esc_html__( 'You approved the key; the alliance is checking it and will sync your store.', 'shop-alliance' ) . '</p></div>';
		} elseif ( '0' === $returned ) {
			echo '<div class="notice notice-warning inline"><p>' . esc_html__( 'The key was not approved; nothing was shared.', 'shop-alliance' ) . '</p></div>';
		}
		$hooks = $this->alliance_webhooks( $settings['app_url'] );
		if ( null === $hooks ) {
			echo '<p>' . esc_html__( 'WooCommerce is not active: the connection state cannot be read.', 'shop-alliance' ) . '</p>';
		} elseif ( $hooks > 0 ) {
			/* translators: %d: how many webhooks. */
			echo '<p>' . esc_html( sprintf( _n( 'Connected: the alliance has %d active webhook in this store.', 'Connected: the alliance has %d active webhooks in this store.', $hooks, 'shop-alliance' ), $hooks ) ) . '</p>';
		} else {
			echo '<p>' . esc_html__( 'Not connected yet.', 'shop-alliance' ) . '</p>';
		}
	}

	/**
	 * Why blocks are missing, to those who can fix it.
	 */
	public function notice() {
		if ( ! current_user_can( 'manage_options' ) ) {
			return;
		}
		$failure = $this->fetcher->last_failure();
		if ( null === $failure || time() - (int) $failure['at'] > DAY_IN_SECONDS ) {
			return;
		}
		printf(
			'<div class="notice notice-warning"><p>%s</p></div>',
			esc_html(
				sprintf(
					/* translators: 1: when, 2: why. */
					__( 'Shop Alliance: partner products are not shown since %1$s: %2$s. Check that the alliance app is running and its URL in the settings.', 'shop-alliance' ),
					wp_date( get_option( 'date_format' ) . ' ' . get_option( 'time_format' ), (int) $failure['at'] ),
					$failure['reason']
				)
			)
		);
	}
}
