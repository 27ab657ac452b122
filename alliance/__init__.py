"""shop-alliance: the domain core (agreement, orders, attribution, ledger, settlement)."""

__version__ = "0.1.0"
