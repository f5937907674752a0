"""The plugin module gridhost discovers: one IGridApp provider per app.

Keep this file tiny: gridhost imports every module in a plugin folder, and the
real code lives in the ``guestbook`` package beside it.
"""

from guestbook.app import GuestbookApp

guestbook = GuestbookApp()
