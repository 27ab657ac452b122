"""The WooCommerce adapter: REST v3 orders mapped to the domain, and realistic fixtures."""
