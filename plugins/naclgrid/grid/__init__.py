"""The grid engine's in-process API: ``Grid(store, clock, limits, log)``."""

from naclgrid.grid.engine import Grid
from naclgrid.grid.service import GridService
from naclgrid.model import Limits

__all__ = ["Grid", "GridService", "Limits"]
