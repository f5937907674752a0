"""The cooperative CPU-seconds ledger: volunteers earn what their agents and
browser tabs compute, submitters spend it, and a job its owner cannot pay
for waits with the reason ``insufficient_credit``."""

from corefarm.credit.gate import CreditGate
from corefarm.credit.ledger import Ledger
from corefarm.credit.meter import MeteredGrid, TileMeter

__all__ = ["CreditGate", "Ledger", "MeteredGrid", "TileMeter"]
