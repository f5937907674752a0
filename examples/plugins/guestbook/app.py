"""The guestbook app: config check, build, and the pieces build returns."""

from twisted.internet.defer import succeed
from zope.interface import implementer

from gridhost.core.interfaces import IAppInstance, IGridApp
from guestbook.book import MemoryBook, RedisBook
from guestbook.web import GuestbookPages

OPTIONS = {"title": str, "max_entries": int}


@implementer(IGridApp)
class GuestbookApp:
    name = "guestbook"
    requires = ()

    def check_config(self, section):
        errors = [f"{key}: unknown option (known: {', '.join(OPTIONS)})"
                  for key in sorted(set(section) - set(OPTIONS))]
        for key, kind in OPTIONS.items():
            if key in section and not isinstance(section[key], kind):
                errors.append(f"{key}: expected {kind.__name__}")
        if isinstance(section.get("max_entries"), int) and not 1 <= section["max_entries"] <= 10_000:
            errors.append("max_entries: must be between 1 and 10000")
        return errors

    def build(self, section, context):
        limit = section.get("max_entries", 100)
        if context.store.kind == "redis":
            book = RedisBook(context.store.redis(), limit)
        else:
            book = MemoryBook(limit)
        pages = GuestbookPages(book, section.get("title", "Guestbook"), context.reactor)
        return GuestbookInstance(pages, book)


@implementer(IAppInstance)
class GuestbookInstance:
    service = None  # nothing to start or stop

    def __init__(self, pages, book):
        self._pages = pages
        self.api = book

    def resource(self):
        return self._pages.resource()

    def health(self):
        return succeed({"ok": True, "entries": self.api.count()})
