"""Running cases against a target: session opening, probe, route control, dialogue, judges, result.

One module per concern; :class:`CaseRunner` (``runner.py``) ties them together.
"""

from .probe import ProbeResult
from .result import CaseResult
from .runner import CaseRunner

__all__ = ["CaseResult", "CaseRunner", "ProbeResult"]
