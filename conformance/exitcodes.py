"""One exit-code table for every command (``run``, plain ``pytest --mta-host``, ``lint``...).

A CI gate must tell "the MTA is non-conformant" from "the run could not test it"
from "you called it wrong".  pytest's own codes are kept where they already mean
the same thing (4 usage error, 5 nothing selected); 75 is sysexits' EX_TEMPFAIL:
try again later, nothing was judged.  When several apply, NON_CONFORMANT wins over
COULD_NOT_TEST, which wins over CONFORMANT.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    CONFORMANT = 0  #: no error finding (and, under --mta-strict, no warning)
    NON_CONFORMANT = 1  #: an error finding; a warning under --mta-strict
    INTERRUPTED = 2  #: pytest's code for an interrupted run (Ctrl-C)
    INTERNAL_ERROR = 3  #: pytest's code for a crash of its own
    USAGE = 4  #: bad options or arguments (as pytest)
    NO_TESTS = 5  #: nothing selected (as pytest)
    COULD_NOT_TEST = 75  #: EX_TEMPFAIL: the target could not be tested (probe, harness), nothing judged


#: the table printed by ``--help`` and in the README
TABLE = """exit status:
  0   conformant: no error finding (under --mta-strict: no warning either)
  1   non-conformant: at least one error finding (under --mta-strict: or a warning)
  4   usage error: a bad option or argument
  5   nothing selected: no case matched the selection
  75  could not test: the target was unreachable or failed the probe session, the harness
      could not listen, or no selected case could be judged (try again; nothing was judged)
  1 wins over 75, which wins over 0."""
