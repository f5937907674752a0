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
    mounts: tuple = ()
    local_url: object = None

    def url_on_this_machine(self):
        """``http://127.0.0.1:PORT/PATH/`` where this app answers on a plain
        TCP listener, for local helper processes (the agent pool); None
        before the listeners are bound or when no such mount exists."""
        return self.local_url() if self.local_url is not None else None
