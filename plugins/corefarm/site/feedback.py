"""Feedback messages, kept in the shared kv: one counter numbers them."""

FEEDBACK_TTL = 365 * 24 * 3600


class FeedbackBox:
    """``FeedbackBox(keyspace)``."""

    def __init__(self, keyspace):
        self._kv = keyspace

    async def add(self, author, message, contact=""):
        number = await self._kv.incr("feedback:count")
        await self._kv.set_json(f"feedback:{number}", {
            "number": number, "author": author, "message": message, "contact": contact,
            "at": self._kv.now()}, ttl=FEEDBACK_TTL)
        return number

    async def recent(self, limit=50, author=None):
        """Newest first; only ``author``'s when given."""
        out = []
        number = await self._kv.get_int("feedback:count")
        scanned = 0
        while number > 0 and len(out) < limit and scanned < 10 * limit:
            item = await self._kv.get_json(f"feedback:{number}")
            if item is not None and (author is None or item.get("author") == author):
                out.append(item)
            number -= 1
            scanned += 1
        return out
