"""gridhost: an Ocsigen-like host for grid applications on one Twisted reactor."""

__version__ = "0.1.0"
