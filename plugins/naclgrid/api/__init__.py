"""The naclgrid REST API (the wire protocol) over a Grid."""

from naclgrid.api.app import ApiSettings, NaclgridAPI

__all__ = ["ApiSettings", "NaclgridAPI"]
