"""The real MTAs the integration tests start, one module per MTA (see lab/README.md).

Each instance renders the project's templates from ``lab/`` into its own
directory tree, listens on two loopback high ports (strict: unknown users
refused at RCPT; backscatter: accepted and bounced later), is waited for by
reading its 220 greeting with a deadline, and is stopped by the pid it wrote or
we started, never by process name.  Starting one needs root (the MTAs drop to
their own users); as another user every instance is unavailable with a "needs
root: ..." reason.  Instance trees live in one folder per run under /var/tmp
(every parent must be traversable by the MTAs' users, which pytest's 0700 tmp
is not), removed by remove_state_base() at the end of the session.
"""

from __future__ import annotations

from .base import (
    KNOWN_RECIPIENT,
    LAB,
    LOCAL_DOMAIN,
    MTAPorts,
    MTAStartError,
    RealMTA,
    Timing,
    new_ports,
    remove_state_base,
    state_base,
)
from .exim import EximInstance
from .haraka import HarakaInstance
from .opensmtpd import OpenSMTPDInstance
from .postfix import PostfixInstance
from .sendmail import SendmailInstance

#: every lab MTA by its name, in the order the tests and the README show them
KINDS: dict[str, type[RealMTA]] = {kind.name: kind for kind in (
    PostfixInstance, EximInstance, OpenSMTPDInstance, SendmailInstance, HarakaInstance)}

__all__ = ["KINDS", "KNOWN_RECIPIENT", "LAB", "LOCAL_DOMAIN", "EximInstance", "HarakaInstance", "MTAPorts",
           "MTAStartError", "OpenSMTPDInstance", "PostfixInstance", "RealMTA", "SendmailInstance", "Timing",
           "new_ports", "remove_state_base", "state_base"]
