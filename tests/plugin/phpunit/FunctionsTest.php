<?php
/**
 * The plugin's pure functions: URLs, cache keys, Cache-Control, order references, cleaning.
 *
 * @package ShopAlliance
 */

use PHPUnit\Framework\TestCase;

final class FunctionsTest extends TestCase {

	public function test_block_url_names_member_placement_and_language() {
		$this->assertSame(
			'https://go.example/w/li/article?lang=zh-Hans',
			shop_alliance_block_url( 'https://go.example', 'li', 'article', 'zh-Hans' )
		);
	}

	public function test_block_url_carries_the_order_reference_encoded() {
		$this->assertSame(
			'https://go.example/w/li/thankyou?lang=en&order=MTIzNA-_x',
			shop_alliance_block_url( 'https://go.example', 'li', 'thankyou', 'en', 'MTIzNA-_x' )
		);
	}

	public function test_block_url_encodes_a_hostile_member() {
		$url = shop_alliance_block_url( 'https://go.example', '../x?y', 'cart', 'en' );
		$this->assertSame( 'https://go.example/w/..%2Fx%3Fy/cart?lang=en', $url );
	}

	public function test_connect_url_returns_to_the_settings_page() {
		$this->assertSame(
			'https://go.example/connect/li?return_url=https%3A%2F%2Fshop.example%2Fwp-admin%2Fadmin.php%3Fpage%3Dshop-alliance',
			shop_alliance_connect_url( 'https://go.example', 'li', 'https://shop.example/wp-admin/admin.php?page=shop-alliance' )
		);
	}

	public function test_cache_keys_differ_per_url_and_fit_a_transient_name() {
		$a = shop_alliance_cache_key( 'https://go.example/w/li/article?lang=en' );
		$b = shop_alliance_cache_key( 'https://go.example/w/li/article?lang=zh-Hans' );
		$c = shop_alliance_cache_key( 'https://go.example/w/li/cart?lang=en' );
		$this->assertCount( 3, array_unique( array( $a, $b, $c ) ) );
		$this->assertSame( $a, shop_alliance_cache_key( 'https://go.example/w/li/article?lang=en' ) );
		$this->assertLessThanOrEqual( 172, strlen( $a ) );
		$this->assertMatchesRegularExpression( '/^shop_alliance_[0-9a-f]{32}$/', $a );
	}

	public function test_max_age_follows_cache_control() {
		$this->assertSame( 60, shop_alliance_max_age( 'public, max-age=60' ) );
		$this->assertSame( 60, shop_alliance_max_age( 'Public, Max-Age=60' ) );
		$this->assertSame( 0, shop_alliance_max_age( 'private, no-store' ) );
		$this->assertSame( 0, shop_alliance_max_age( 'no-cache, max-age=60' ) );
		$this->assertSame( 0, shop_alliance_max_age( '' ) );
		$this->assertSame( 0, shop_alliance_max_age( 'max-age=-5' ) );
		$this->assertSame( 86400, shop_alliance_max_age( 'max-age=999999999' ) );
		$this->assertSame( 30, shop_alliance_max_age( 's-maxage=30' ) );
	}

	public function test_app_urls_are_cleaned_or_refused() {
		$this->assertSame( 'https://go.example', shop_alliance_clean_app_url( ' https://Go.Example/ ' ) );
		$this->assertSame( 'http://127.0.0.1:8000/alliance', shop_alliance_clean_app_url( 'http://127.0.0.1:8000/alliance/' ) );
		$this->assertSame( '', shop_alliance_clean_app_url( 'javascript:alert(1)' ) );
		$this->assertSame( '', shop_alliance_clean_app_url( 'https://user:pw@go.example' ) );
		$this->assertSame( '', shop_alliance_clean_app_url( 'https://go.example/?x=1' ) );
		$this->assertSame( '', shop_alliance_clean_app_url( 'go.example' ) );
	}

	public function test_member_ids_are_cleaned_or_refused() {
		$this->assertSame( 'li', shop_alliance_clean_member( ' LI ' ) );
		$this->assertSame( 'zhang-2', shop_alliance_clean_member( 'zhang-2' ) );
		$this->assertSame( '', shop_alliance_clean_member( '<script>' ) );
		$this->assertSame( '', shop_alliance_clean_member( '' ) );
	}

	public function test_languages_follow_the_locale() {
		$this->assertSame( 'zh-Hans', shop_alliance_language( 'zh_CN' ) );
		$this->assertSame( 'zh-Hans', shop_alliance_language( 'zh_TW' ) );
		$this->assertSame( 'en', shop_alliance_language( 'en_US' ) );
		$this->assertSame( 'en', shop_alliance_language( 'de_DE' ) );
	}

	public function test_order_reference_matches_the_readme_and_needs_a_secret() {
		$secret = 'wang-webhook-secret';
		$key    = hash_hmac( 'sha256', 'alliance thankyou order ref', $secret, true );
		$tag    = substr( hash_hmac( 'sha256', 'li/1234', $key, true ), 0, 16 );
		$this->assertSame(
			rtrim( strtr( base64_encode( '1234' . $tag ), '+/', '-_' ), '=' ),
			shop_alliance_order_reference( $secret, 'li', 1234 )
		);
		$this->assertStringNotContainsString( '=', shop_alliance_order_reference( $secret, 'li', 1234 ) );
		$this->assertSame( '', shop_alliance_order_reference( '', 'li', 1234 ) );
		$this->assertSame( '', shop_alliance_order_reference( $secret, 'li', 'abc' ) );
	}

	public function test_settings_defaults_and_unknown_placements_dropped() {
		$defaults = shop_alliance_settings_with_defaults( false );
		$this->assertSame( array( 'product', 'cart', 'thankyou' ), $defaults['placements'] );
		$this->assertSame( '', $defaults['app_url'] );
		$kept = shop_alliance_settings_with_defaults( array( 'placements' => array( 'cart', 'evil', 'article' ) ) );
		$this->assertSame( array( 'cart', 'article' ), $kept['placements'] );
	}
}
