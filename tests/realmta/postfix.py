"""Postfix 3.7 from Debian's package, one master process with both listeners."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from .base import LAB, MTAStartError, RealMTA, Timing, _sbin


class PostfixInstance(RealMTA):
    name = "postfix"
    label = "Postfix"
    install_name = "postfix"
    #: measured here: 0.2 s from acceptance to the NDR at the sink (1 s assumed, for a loaded machine)
    timing = Timing(bounce_latency=1.0, delay_notice=20, queue_lifetime=60)

    def installed(self) -> tuple[bool, str]:
        if Path(_sbin("postfix")).exists():
            return True, ""
        return False, "Postfix is not installed: run `sudo lab/install.sh postfix`"

    @property
    def conf_dir(self) -> Path:
        return self.state / "etc"

    @property
    def queue_dir(self) -> Path:
        return self.state / "queue"

    def variables(self) -> dict[str, str]:
        v = super().variables()
        v.update(QUEUE_DIR=str(self.queue_dir), DATA_DIR=str(self.state / "data"),
                 MAILBOX_DIR=str(self.state / "mail"), CONF_DIR=str(self.conf_dir), RUN_DIR=str(self.state))
        return v

    def log_path(self) -> Path:
        return self.state / "postfix.log"

    def _postfix(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([_sbin("postfix"), "-c", str(self.conf_dir), *args],
                              capture_output=True, text=True, timeout=60, check=False)

    def start(self, timeout: float = 30) -> None:
        self._prepare_base()
        for sub in ("etc", "queue", "data", "mail"):
            (self.state / sub).mkdir(exist_ok=True)
        (self.state / "mail").chmod(0o1777)
        shutil.chown(self.state / "data", "postfix", "postfix")
        for name in ("main.cf", "master.cf", "aliases", "transport"):
            self.render(LAB / "postfix" / f"{name}.in", self.conf_dir / name)
        subprocess.run([_sbin("postalias"), "-c", str(self.conf_dir), str(self.conf_dir / "aliases")],
                       check=True, capture_output=True, timeout=60)
        for step in (("check",), ("start",)):
            proc = self._postfix(*step)
            if proc.returncode != 0:
                raise MTAStartError(f"postfix {step[0]} failed: {proc.stdout}{proc.stderr}\n{self.log_tail()}")
        self._wait_ready(timeout)
        pid_text = (self.queue_dir / "pid" / "master.pid").read_text().strip()
        self.pid = int(pid_text)

    def stop(self, timeout: float = 10) -> None:
        if self.pid is None:
            return
        self._postfix("stop")
        self._kill_pid(timeout)
