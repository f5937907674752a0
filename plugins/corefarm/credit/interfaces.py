"""The contracts of the cooperative CPU-seconds credit."""

from zope.interface import Attribute, Interface


class ILedger(Interface):
    """Balances, donations and consumption in CPU-seconds, per participant."""

    starting_grant_ms = Attribute("CPU-milliseconds every participant gets once.")

    def ensure(user):
        """Index ``user`` and give the starting grant, once; True the first time."""

    def balance(user):
        """CPU-seconds ``user`` may spend (may be slightly negative)."""

    def record_tile(contributor, owner, cpu_seconds, job_id, slot):
        """Book one delivered tile, once per (job, slot); False if booked before."""

    def job_cost(job_id):
        """``(cpu_seconds, tiles)`` booked for a job."""

    def total_exchanged():
        """CPU-seconds booked on the whole farm."""

    def account(user):
        """``{"user", "balance", "donated", "consumed", "granted"}``."""

    def board(limit=100):
        """Accounts with activity, most donated first."""


class ICreditGate(Interface):
    """Holds render jobs whose owner cannot pay for the tiles left."""

    applications = Attribute("Applications whose jobs are billed (yafaray).")

    def check(status):
        """Hold or release one job (a job status dict); the hold reason after."""

    def check_owner(owner):
        """Re-check every job of ``owner``."""

    def reconcile():
        """Re-check every running billed job; the number held."""
