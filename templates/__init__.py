"""Jinja templates for widgets, dashboards and statements, shipped as package data.

A shop overrides any of them from its own folder (``ALLIANCE_TEMPLATE_DIR``), first match
wins, like WooCommerce theme overrides. The templates arrive with the widgets issue.
"""
