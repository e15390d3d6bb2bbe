"""Sendmail 8.17 unpacked from Debian's package: two daemons, one per listener.

Whether an unknown local user is refused at RCPT is the local mailer's ``F=w``
flag, global to a .cf: the strict and the backscatter listener are two daemons
built from one template.  Each runs in a UTS and mount namespace with its own
host name and a private hosts file: with the machine's unqualified name every
Sendmail invocation waits 60 s, and its own-name lookups would go to DNS.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from .base import LAB, MTAStartError, RealMTA, Timing, kill_after, terminate, wait_for_greeting

PREFIX = Path("/opt/mta/sendmail")
SENDMAIL = PREFIX / "usr/libexec/sendmail/sendmail"
MAKEMAP = PREFIX / "usr/libexec/sendmail/makemap"
CF_DIR = PREFIX / "usr/share/sendmail/cf"
HOSTNAME = "mta-sendmail.local.test"
MODES = ("strict", "backscatter")


class SendmailInstance(RealMTA):
    name = "sendmail"
    label = "Sendmail"
    install_name = "sendmail"
    #: measured here: 0.2 s from acceptance to the NDR at the sink (1 s assumed, for a loaded machine)
    timing = Timing(bounce_latency=1.0, delay_notice=20, queue_lifetime=90)

    def installed(self) -> tuple[bool, str]:
        if SENDMAIL.exists() and shutil.which("m4") and shutil.which("unshare"):
            return True, ""
        return False, "Sendmail is not installed: run `sudo lab/install.sh sendmail`"

    @property
    def conf_dir(self) -> Path:
        return self.state / "etc"

    def variables(self) -> dict[str, str]:
        v = super().variables()
        v.update(CONF_DIR=str(self.conf_dir), RUN_DIR=str(self.state), SPOOL_DIR=str(self.state / "spool"),
                 MAILBOX_DIR=str(self.state / "mail"))
        return v

    def log_path(self) -> Path:
        return self.state / "sendmail.log"

    def namespaced(self, *argv: str) -> list[str]:
        """*argv* run with this instance's host name and hosts file."""
        script = f'hostname {HOSTNAME} && mount --bind "$1" /etc/hosts && shift && exec "$@"'
        return ["unshare", "--uts", "--mount", "sh", "-c", script, "sh", str(self.conf_dir / "hosts"), *argv]

    def _run(self, argv: list[str], what: str, stdin: Path | None = None) -> None:
        with self.log_path().open("ab") as log:
            source = stdin.open("rb") if stdin else subprocess.DEVNULL
            try:
                proc = subprocess.run(argv, stdin=source, stdout=subprocess.PIPE, stderr=log,
                                      timeout=90, check=False, cwd=self.state)
            finally:
                if stdin:
                    source.close()  # type: ignore[union-attr]
        if proc.returncode != 0:
            raise MTAStartError(f"sendmail: {what} failed (status {proc.returncode})\n{self.log_tail()}")

    def _build(self, mode: str, port: int) -> Path:
        variables = {**self.variables(), "MODE": mode, "LISTEN_PORT": str(port)}
        text = (LAB / "sendmail" / "lab.mc.in").read_text(encoding="utf-8")
        for key, value in variables.items():
            text = text.replace(f"@{key}@", value)
        mc, cf = self.conf_dir / f"{mode}.mc", self.conf_dir / f"{mode}.cf"
        mc.write_text(text, encoding="utf-8")
        with cf.open("wb") as out:
            proc = subprocess.run(["m4", f"-D_CF_DIR_={CF_DIR}/", str(CF_DIR / "m4" / "cf.m4"), str(mc)],
                                  stdout=out, stderr=subprocess.PIPE, timeout=60, check=False)
        if proc.returncode != 0:
            raise MTAStartError(f"m4 failed for {mc}: {proc.stderr.decode(errors='replace')}")
        (self.state / "spool" / mode).mkdir(mode=0o700, exist_ok=True)
        (self.state / f"sendmail-{mode}.st").touch()
        return cf

    def start(self, timeout: float = 30) -> None:
        self._prepare_base()
        for sub in ("etc", "spool", "mail"):
            (self.state / sub).mkdir(exist_ok=True)
        shutil.chown(self.state / "mail", "labmail", "labmail")
        for name in ("aliases", "fake-lda.sh", "hosts", "mailertable", "local-host-names", "service.switch"):
            self.render(LAB / "sendmail" / f"{name}.in", self.conf_dir / name)
        (self.conf_dir / "fake-lda.sh").chmod(0o755)
        self.pids: dict[str, int] = {}
        try:
            for mode, port in zip(MODES, (self.ports.strict, self.ports.backscatter), strict=True):
                cf = self._build(mode, port)
                if mode == MODES[0]:
                    self._run([str(MAKEMAP), "-C", str(cf), "hash", str(self.conf_dir / "mailertable")],
                              "makemap", stdin=self.conf_dir / "mailertable")
                    self._run(self.namespaced(str(SENDMAIL), "-C", str(cf), "-bi"), "newaliases")
                self._run(self.namespaced(str(SENDMAIL), "-C", str(cf), "-bd", "-q10s"), f"the {mode} daemon")
                deadline = time.monotonic() + timeout
                wait_for_greeting(self.host, port, deadline)
                self.pids[mode] = int((self.state / f"sendmail-{mode}.pid").read_text().split()[0])
        except MTAStartError:
            self.stop()
            raise
        self.pid = self.pids[MODES[0]]

    def stop(self, timeout: float = 10) -> None:
        for mode, pid in list(getattr(self, "pids", {}).items()):
            terminate(pid)
            kill_after(pid, timeout)
            del self.pids[mode]
        self.pid = None

