"""The contract between gridhost and the applications it hosts.

This module is the plugin author's manual: an app is an :class:`IGridApp`
provider found by ``twisted.plugin.getPlugins`` in ``gridhost.plugins``.
gridhost checks every app's options before anything starts, then builds each
configured app once with an :class:`IHostContext`, mounts the returned
:class:`IAppInstance`'s resource at every site that names the app, and runs
its service under the host's service tree.
"""

from twisted.plugin import IPlugin
from zope.interface import Attribute, Interface


class IGridApp(IPlugin):
    """A loadable application: the analogue of an Ocsigen extension.

    It extends IPlugin because ``twisted.plugin.getPlugins`` only collects
    IPlugin providers; declaring ``@implementer(IGridApp)`` is enough."""

    name = Attribute("Config key and URL-safe identifier, e.g. 'naclgrid'.")
    requires = Attribute(
        "Tuple of app names this app depends on. Each is built first and its "
        "in-process API handed over in IHostContext.dependencies."
    )

    def check_config(section):
        """Return a list of human-readable errors for this app's ``[app.NAME]``
        table (a dict), as ``"key: problem"`` strings. Must have no side
        effects: it runs before anything starts, for ``gridhost check-config``
        too.
        """

    def build(section, context):
        """Create the app from its (already checked) options and an
        :class:`IHostContext`, and return an :class:`IAppInstance`. Must not
        start I/O: connections and timers belong in the returned service.
        """


class AppStartError(Exception):
    """Raised by ``IGridApp.build`` when the environment, not the config file,
    stops the app (missing cloud credentials, say). The host prints the
    message, without a traceback, and refuses to start."""


class IHostContext(Interface):
    """Everything the host hands an app at build time. Apps never import the
    global reactor or open their own store connection."""

    reactor = Attribute("The reactor (IReactorTime, IReactorTCP, IReactorProcess).")
    store = Attribute(
        "The shared store connection: a gridhost.core.stores.StoreConnection "
        "(kind 'memory' or 'redis', with the redis URL and a lazily connected client)."
    )
    data_dir = Attribute("twisted.python.filepath.FilePath private to this app; created.")
    log = Attribute("twisted.logger.Logger in the app's namespace.")
    metrics = Attribute("prometheus_client.CollectorRegistry shared by the whole host.")
    dependencies = Attribute("Dict: app name -> that app's IAppInstance.api.")
    server = Attribute("Dict of the validated [server] options (listen, data_dir, ...).")
    mounts = Attribute("Tuple of (host names, site path) where this app is mounted.")

    def url_on_this_machine():
        """``http://127.0.0.1:PORT/PATH/`` reaching this app through a plain
        TCP listener of this host, for helper processes started on this
        machine (e.g. local agents); None before the listeners are bound or
        when the app is not mounted on a host that answers any name."""


class IAppInstance(Interface):
    """A built app."""

    service = Attribute("An IService, or None. Started in config order, stopped in reverse.")
    api = Attribute("The in-process Python API other apps receive (may be None).")

    def resource():
        """The twisted.web IResource mounted at each site path naming this app.

        Called once per site, so an app mounted twice may return the same
        resource or a fresh one.
        """

    def health():
        """Return a Deferred firing with a JSON-able dict describing the app's
        health; it fails (or fires with ``{"ok": False, ...}``) when the app
        cannot serve."""
