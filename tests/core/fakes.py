"""Small IGridApp providers for testing the host's own seams."""

from twisted.application.service import Service
from twisted.internet.defer import succeed
from twisted.web.resource import Resource
from zope.interface import implementer

from gridhost.core.interfaces import IAppInstance, IGridApp


class TextPage(Resource):
    isLeaf = True

    def __init__(self, text):
        super().__init__()
        self.text = text

    def render_GET(self, request):
        request.setHeader(b"content-type", b"text/plain")
        rest = b"/".join(request.postpath)
        return self.text.encode() + b" " + rest


class RecordingService(Service):
    def __init__(self, name, events):
        self.label, self.events = name, events

    def startService(self):
        super().startService()
        self.events.append(("start", self.label))

    def stopService(self):
        super().stopService()
        self.events.append(("stop", self.label))


@implementer(IAppInstance)
class FakeInstance:
    def __init__(self, text, service, api, healthy=True):
        self._text, self.service, self.api, self._healthy = text, service, api, healthy

    def resource(self):
        return TextPage(self._text)

    def health(self):
        return succeed({"ok": self._healthy})


@implementer(IGridApp)
class FakeApp:
    def __init__(self, name, requires=(), allowed=("greeting",), events=None, healthy=True):
        self.name, self.requires, self.allowed = name, tuple(requires), set(allowed)
        self.events = events if events is not None else []
        self.built_with = None
        self.healthy = healthy

    def check_config(self, section):
        return [f"{k}: unknown option" for k in sorted(set(section) - self.allowed)]

    def build(self, section, context):
        self.built_with = (section, context)
        text = section.get("greeting", f"hello from {self.name}")
        return FakeInstance(text, RecordingService(self.name, self.events),
                            {"name": self.name, "deps": dict(context.dependencies)}, self.healthy)
