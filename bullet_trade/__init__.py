"""bullet-trade: run JoinQuant-style strategies anywhere, trade through miniQMT or a simulator."""

__version__ = "0.1.0"
