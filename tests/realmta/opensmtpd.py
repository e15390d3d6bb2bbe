"""OpenSMTPD 6.8 unpacked from Debian's package, in a mount namespace of its own.

Its spool (/var/spool/smtpd) and control socket (/var/run/smtpd.sock) are
compiled in.  Each instance therefore runs under ``unshare --mount`` with a
folder of its state tree bind-mounted over each: instances do not share a
queue (a message left by an earlier run is never delivered to a later run's
ports), two can run at once, and an OpenSMTPD of the machine is not touched.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .base import LAB, ForegroundMTA, MTAStartError, Timing

PREFIX = Path("/opt/mta/opensmtpd")
SMTPD = PREFIX / "usr/sbin/smtpd"
#: compiled in: the queue and the folder holding the control socket
SPOOL = "/var/spool/smtpd"
SOCKET_DIR = "/var/run"
#: a shell run inside the namespace: mount the private folders, then become smtpd (same pid)
NAMESPACE_SCRIPT = f'mount --bind "$1" {SPOOL} && mount --bind "$2" {SOCKET_DIR} && shift 2 && exec "$@"'


class OpenSMTPDInstance(ForegroundMTA):
    name = "opensmtpd"
    label = "OpenSMTPD"
    install_name = "opensmtpd"
    #: measured here: the NDR reaches the sink 1.2 s (local user) to 2.2 s (next hop refused) after
    #: acceptance; OpenSMTPD batches its bounces and took ~5 s on a busier machine, so 5 s is assumed
    timing = Timing(bounce_latency=5.0, delay_notice=20, queue_lifetime=120)

    def installed(self) -> tuple[bool, str]:
        if SMTPD.exists() and shutil.which("unshare"):
            return True, ""
        return False, "OpenSMTPD is not installed: run `sudo lab/install.sh opensmtpd`"

    def variables(self) -> dict[str, str]:
        v = super().variables()
        v.update(CONF_DIR=str(self.state / "etc"), MAILBOX_DIR=str(self.state / "mail"), RUN_DIR=str(self.state))
        return v

    def log_path(self) -> Path:
        return self.state / "smtpd.log"

    def start(self, timeout: float = 30) -> None:
        self._prepare_base()
        conf, spool, run, mail = (self.state / sub for sub in ("etc", "spool", "run", "mail"))
        for folder in (conf, spool, run, mail):
            folder.mkdir(exist_ok=True)
        spool.chmod(0o711)
        Path(SPOOL).mkdir(mode=0o711, parents=True, exist_ok=True)  # the mount point, empty on the machine
        shutil.chown(mail, "labmail", "labmail")
        for name in ("smtpd.conf", "vusers", "catchall", "fake-lda.sh"):
            self.render(LAB / "opensmtpd" / f"{name}.in", conf / name)
        (conf / "fake-lda.sh").chmod(0o755)
        smtpd = [str(SMTPD), "-d", "-f", str(conf / "smtpd.conf")]
        self.spawn(["unshare", "--mount", "sh", "-c", NAMESPACE_SCRIPT, "sh", str(spool), str(run), *smtpd],
                   self.log_path())
        try:
            self.ready_or_raise(timeout)
        except MTAStartError:
            self.stop()
            raise
