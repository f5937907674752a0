"""Errors and warnings raised while reading a scene.

A scene problem the renderer can work around becomes a warning (collected in
:class:`Warnings` and returned with the scene); only a file we cannot turn into
a picture at all raises :class:`SceneError`.
"""


class SceneError(Exception):
    """The scene cannot be loaded; the message names the problem for the user."""


class Warnings:
    """An ordered, de-duplicated list of warnings.

    Real exports repeat the same problem per face or per material, so identical
    messages are counted instead of listed again.
    """

    def __init__(self, limit=200):
        self._counts = {}
        self._limit = limit

    def add(self, message):
        if message in self._counts:
            self._counts[message] += 1
        elif len(self._counts) < self._limit:
            self._counts[message] = 1

    def as_list(self):
        return [m if n == 1 else f"{m} (x{n})" for m, n in self._counts.items()]

    def __len__(self):
        return len(self._counts)

    def __iter__(self):
        return iter(self.as_list())
