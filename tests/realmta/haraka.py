"""Haraka 3.3 from npm: one Node process with three listeners (strict, backscatter, its own mailbox)."""

from __future__ import annotations

import shutil
from pathlib import Path

from .base import LAB, ForegroundMTA, MTAStartError, Timing

PREFIX = Path("/opt/mta/haraka")
HARAKA = PREFIX / "node_modules/.bin/haraka"
DEFAULTS = PREFIX / "node_modules/Haraka/config"
TEMPLATES = ("smtp.ini", "me", "host_list", "plugins", "outbound.ini", "log.ini", "connection.ini")


class HarakaInstance(ForegroundMTA):
    name = "haraka"
    label = "Haraka"
    install_name = "haraka"
    #: measured here: 0.2 s from acceptance to the NDR at the sink; no delayed DSN; a deferred message fails
    #: after six 10 s retries (1 s assumed, for a loaded machine)
    timing = Timing(bounce_latency=1.0, delay_notice=20, queue_lifetime=60)

    def installed(self) -> tuple[bool, str]:
        if HARAKA.exists() and shutil.which("node"):
            return True, ""
        return False, "Haraka is not installed: run `sudo lab/install.sh haraka` (needs Node.js >= 20)"

    def variables(self) -> dict[str, str]:
        v = super().variables()
        v.update(MAILBOX_DIR=str(self.state / "mail"), CONF_DIR=str(self.state / "haraka"), RUN_DIR=str(self.state))
        return v

    def log_path(self) -> Path:
        return self.state / "haraka.log"

    def start(self, timeout: float = 30) -> None:
        self._prepare_base()
        home = self.state / "haraka"
        (self.state / "mail").mkdir(exist_ok=True)
        shutil.copytree(DEFAULTS, home / "config", dirs_exist_ok=True)
        (home / "plugins").mkdir(parents=True, exist_ok=True)
        for name in TEMPLATES:
            self.render(LAB / "haraka" / f"{name}.in", home / "config" / name)
        self.render(LAB / "haraka" / "plugins" / "lab.js.in", home / "plugins" / "lab.js")
        # the lab plugin requires @haraka/email-address: resolve it from the installed tree
        (home / "node_modules").symlink_to(PREFIX / "node_modules")
        self.spawn([str(HARAKA), "-c", str(home)], self.log_path())
        try:
            self.ready_or_raise(timeout)
        except MTAStartError:
            self.stop()
            raise
