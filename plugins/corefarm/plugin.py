"""corefarm as a gridhost app: it drives naclgrid in-process."""

from twisted.internet.defer import succeed
from zope.interface import implementer

from gridhost.core.interfaces import IAppInstance, IGridApp


@implementer(IGridApp)
class CorefarmApp:
    name = "corefarm"
    requires = ("naclgrid",)

    def check_config(self, section):
        return [f"{key}: unknown option" for key in sorted(section)]

    def build(self, section, context):
        from corefarm.site.pages import CorefarmSite

        grid = context.dependencies["naclgrid"]
        return CorefarmInstance(CorefarmSite(grid, context.reactor))


@implementer(IAppInstance)
class CorefarmInstance:
    service = None
    api = None

    def __init__(self, site):
        self._site = site

    def resource(self):
        return self._site.resource()

    def health(self):
        return succeed({"ok": True})
