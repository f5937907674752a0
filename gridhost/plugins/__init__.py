"""Where gridhost looks for app plugins (``IGridApp`` providers).

A module here, in a ``gridhost/plugins`` folder of any entry of sys.path, or
in a folder named by ``[server] plugin_dirs`` is scanned by
``twisted.plugin.getPlugins``. No ``__init__.py`` belongs in
``twisted/plugins``; this package is ours.
"""

from twisted.plugin import pluginPackagePaths

__path__.extend(pluginPackagePaths(__name__))
__all__ = []
