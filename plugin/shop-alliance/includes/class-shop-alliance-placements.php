<?php
/**
 * Where the block goes: WooCommerce's product, cart and thank-you hooks (each can be turned
 * off in the settings), the [shop_alliance_block] shortcode and the "Partner products" block
 * for articles.
 *
 * @package ShopAlliance
 */

defined( 'ABSPATH' ) || exit;

/**
 * Registers the hooks, the shortcode and the block.
 */
class Shop_Alliance_Placements {

	/**
	 * Where blocks come from.
	 *
	 * @var Shop_Alliance_Block_Fetcher
	 */
	private $fetcher;

	/**
	 * Blocks printed inside post content, by placeholder, until the content's filters are done.
	 *
	 * @var array<string, string>
	 */
	private $held = array();

	/**
	 * Constructor.
	 *
	 * @param Shop_Alliance_Block_Fetcher $fetcher Where blocks come from.
	 */
	public function __construct( Shop_Alliance_Block_Fetcher $fetcher ) {
		$this->fetcher = $fetcher;
	}

	/**
	 * Hook everything in.
	 */
	public function register() {
		add_action( 'woocommerce_after_single_product_summary', array( $this, 'product' ), 25 );
		add_action( 'woocommerce_after_cart', array( $this, 'cart' ) );
		add_action( 'woocommerce_thankyou', array( $this, 'thankyou' ), 20 );
		add_shortcode( 'shop_alliance_block', array( $this, 'shortcode' ) );
		add_action( 'init', array( $this, 'register_block' ) );
		add_filter( 'the_content', array( $this, 'release' ), PHP_INT_MAX );
	}

	/**
	 * The product page.
	 */
	public function product() {
		$this->print_if_on( 'product' );
	}

	/**
	 * The cart.
	 */
	public function cart() {
		$this->print_if_on( 'cart' );
	}

	/**
	 * The order-received page: the order's gift pack above the partner cards.
	 *
	 * @param int $order_id The order WooCommerce just took.
	 */
	public function thankyou( $order_id ) {
		$this->print_if_on( 'thankyou', absint( $order_id ) );
	}

	/**
	 * Print a placement's block when that placement is on.
	 *
	 * @param string $placement The placement.
	 * @param int    $order_id  The order (thank-you page), else 0.
	 */
	private function print_if_on( $placement, $order_id = 0 ) {
		$settings = $this->fetcher->settings();
		if ( ! in_array( $placement, $settings['placements'], true ) ) {
			return;
		}
		echo $this->wrap( $this->fetcher->block( $placement, $order_id ), $placement ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- the alliance app's HTML, escaped by the app (wrap()).
	}

	/**
	 * [shop_alliance_block placement="article"].
	 *
	 * @param array|string $atts The shortcode's attributes.
	 * @return string
	 */
	public function shortcode( $atts ) {
		$atts      = shortcode_atts( array( 'placement' => 'article' ), $atts, 'shop_alliance_block' );
		$placement = sanitize_key( $atts['placement'] );
		if ( ! shop_alliance_is_placement( $placement ) ) {
			return '';
		}
		return $this->hold( $this->wrap( $this->fetcher->block( $placement ), $placement ) );
	}

	/**
	 * The dynamic block (block.json, rendered on the server by render.php).
	 */
	public function register_block() {
		register_block_type( SHOP_ALLIANCE_DIR . 'blocks/partner-block' );
	}

	/**
	 * The block's HTML for the block editor's render.php.
	 *
	 * @param string $placement The placement the block names.
	 * @return string
	 */
	public function render_block( $placement ) {
		$placement = shop_alliance_is_placement( $placement ) ? $placement : 'article';
		return $this->hold( $this->wrap( $this->fetcher->block( $placement ), $placement ) );
	}

	/**
	 * Inside post content, a placeholder instead of the block: the_content's later filters
	 * (wptexturize, convert_smilies, wp_filter_content_tags) would otherwise rewrite the app's
	 * HTML, curling quotes in product names. release() puts the block back after them.
	 *
	 * @param string $html The wrapped block, or ''.
	 * @return string
	 */
	private function hold( $html ) {
		if ( '' === $html || ! doing_filter( 'the_content' ) ) {
			return $html;
		}
		$placeholder                = '<!--shop-alliance-block:' . count( $this->held ) . ':' . md5( $html ) . '-->';
		$this->held[ $placeholder ] = $html;
		return $placeholder;
	}

	/**
	 * The blocks back in place of their placeholders, after every other content filter.
	 *
	 * @param string $content The post's content, filtered.
	 * @return string
	 */
	public function release( $content ) {
		return $this->held ? strtr( (string) $content, $this->held ) : $content;
	}

	/**
	 * The app's HTML in a marked container, exactly as the app escaped it: it is neither
	 * escaped again (names would show as &amp;lt;) nor filtered (kses would drop its markup).
	 * Nothing when the app gave nothing.
	 *
	 * @param string $html      From the app.
	 * @param string $placement The placement.
	 * @return string
	 */
	private function wrap( $html, $placement ) {
		if ( '' === $html ) {
			return '';
		}
		return '<div class="shop-alliance-block" data-placement="' . esc_attr( $placement ) . '">' . $html . '</div>';
	}
}

/**
 * The placements object the block's render.php uses.
 *
 * @return Shop_Alliance_Placements
 */
function shop_alliance_placements() {
	static $placements = null;
	if ( null === $placements ) {
		$placements = new Shop_Alliance_Placements( new Shop_Alliance_Block_Fetcher() );
	}
	return $placements;
}
