"""The reference testee: a well-behaved MTA with switchable faults (see faults.py) and a delivery queue (queue.py)."""

from .config import TesteeConfig
from .faults import FAULT_KINDS, FAULTS, KINDS
from .server import Testee, serve_forever
from .session import AcceptedEnvelope

__all__ = ["FAULTS", "FAULT_KINDS", "KINDS", "AcceptedEnvelope", "Testee", "TesteeConfig", "serve_forever"]
