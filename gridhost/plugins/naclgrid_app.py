"""The naclgrid grid engine, shipped with gridhost."""

from naclgrid.plugin import NaclgridApp

naclgrid = NaclgridApp()
