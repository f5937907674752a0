"""The corefarm rendering site, shipped with gridhost."""

from corefarm.plugin import CorefarmApp

corefarm = CorefarmApp()
