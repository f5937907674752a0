"""Credentials for the naclgrid REST API: API keys with roles, the signed
request scheme of the original Corefarm client (made safe), and the admin key
a fresh server writes for its operator."""

from naclgrid.auth.authenticator import Authenticator
from naclgrid.auth.keys import ROLES, AuthError, KeyService, Principal, parse_key

__all__ = ["ROLES", "AuthError", "Authenticator", "KeyService", "Principal", "parse_key"]
