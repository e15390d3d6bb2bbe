"""The reference testee: a well-behaved MTA with switchable faults (see faults.py) and a delivery queue (queue.py)."""

from .faults import FAULT_KINDS, FAULTS, KINDS
from .server import Testee, TesteeConfig, Transaction, serve_forever

__all__ = ["FAULTS", "FAULT_KINDS", "KINDS", "Testee", "TesteeConfig", "Transaction", "serve_forever"]
