"""xrec: cross-recommendations between a knowledge-payment platform and its partners."""

__version__ = "0.1.0"
