"""The per-app context handed to ``IGridApp.build``."""

from dataclasses import dataclass, field

from zope.interface import implementer

from gridhost.core.interfaces import IHostContext


@implementer(IHostContext)
@dataclass
class HostContext:
    reactor: object
    store: object
    data_dir: object
    log: object
    metrics: object
    dependencies: dict = field(default_factory=dict)
    server: dict = field(default_factory=dict)
