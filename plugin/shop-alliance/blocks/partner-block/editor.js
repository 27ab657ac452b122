/* The block in the editor, without a build step: plain wp.* globals, no JSX. */
( function ( blocks, element, serverSideRender, blockEditor, components, i18n ) {
	var el = element.createElement;
	var __ = i18n.__;
	var placements = [ 'article', 'product', 'cart', 'thankyou' ];

	blocks.registerBlockType( 'shop-alliance/partner-block', {
		edit: function ( props ) {
			return el(
				'div',
				blockEditor.useBlockProps(),
				el(
					blockEditor.InspectorControls,
					null,
					el(
						components.PanelBody,
						{ title: __( 'Placement', 'shop-alliance' ) },
						el( components.SelectControl, {
							label: __( 'Placement', 'shop-alliance' ),
							value: props.attributes.placement,
							options: placements.map( function ( p ) {
								return { label: p, value: p };
							} ),
							onChange: function ( value ) {
								props.setAttributes( { placement: value } );
							},
						} )
					)
				),
				el( serverSideRender, {
					block: 'shop-alliance/partner-block',
					attributes: props.attributes,
				} )
			);
		},
		save: function () {
			return null;
		},
	} );
} )(
	window.wp.blocks,
	window.wp.element,
	window.wp.serverSideRender,
	window.wp.blockEditor,
	window.wp.components,
	window.wp.i18n
);
