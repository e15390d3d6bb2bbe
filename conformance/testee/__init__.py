"""The reference testee: a well-behaved MTA with switchable faults (see faults.py)."""

from .faults import FAULTS
from .server import Testee, TesteeConfig, Transaction, serve_forever

__all__ = ["FAULTS", "Testee", "TesteeConfig", "Transaction", "serve_forever"]
