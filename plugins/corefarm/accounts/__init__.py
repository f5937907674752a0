"""Corefarm accounts: users with argon2 password hashes, sessions and CSRF
tokens kept in the naclgrid store's kv (so several servers share them), and
login rate limits."""

from corefarm.accounts.kv import Keyspace
from corefarm.accounts.passwords import PasswordPolicy
from corefarm.accounts.ratelimit import RateLimiter
from corefarm.accounts.sessions import Session, SessionStore
from corefarm.accounts.users import AccountError, Accounts

__all__ = ["AccountError", "Accounts", "Keyspace", "PasswordPolicy", "RateLimiter", "Session",
           "SessionStore"]
