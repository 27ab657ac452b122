<?php
/**
 * The test theme's only template: each post's title and content, as every theme prints them.
 *
 * @package AllianceTest
 */

defined( 'ABSPATH' ) || exit;
?><!DOCTYPE html>
<html <?php language_attributes(); ?>>
<head>
<meta charset="<?php bloginfo( 'charset' ); ?>">
<?php wp_head(); ?>
</head>
<body <?php body_class(); ?>>
<main id="content">
<?php
while ( have_posts() ) :
	the_post();
	?>
	<article id="post-<?php the_ID(); ?>">
		<h1><?php the_title(); ?></h1>
		<?php the_content(); ?>
	</article>
	<?php
endwhile;
?>
<p id="after-content">End of article.</p>
</main>
<?php wp_footer(); ?>
</body>
</html>
