"""A small example gridhost app: a guestbook (see docs/writing-plugins.md)."""
