"""Talking to storefronts: the Storefront protocol and its adapters."""
