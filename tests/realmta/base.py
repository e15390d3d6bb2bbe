"""The common part of the real MTAs the integration tests start: state, ports, start, stop by pid.

Each instance renders the project's templates from ``lab/`` into its own
directory tree, listens on two loopback high ports (strict: unknown users
refused at RCPT; backscatter: accepted and bounced later), is waited for by
reading its 220 greeting with a deadline, and is stopped by the pid it wrote,
never by process name.  Starting one needs root (the MTAs drop to their own
users, and Exim's -C needs an entry in /etc/exim4/trusted_configs); as another
user every instance is unavailable with a "needs root: ..." reason.  Instance
trees live in one folder per run under /var/tmp (every parent must be
traversable by the MTAs' users, which pytest's 0700 tmp is not), removed by
remove_state_base() at the end of the session.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from conformance.serving import free_port

ROOT = Path(__file__).resolve().parent.parent.parent
LAB = ROOT / "lab"
#: where each run's state folder is made: every parent must be traversable by the MTAs'
#: unprivileged users (not /tmp/pytest-of-root, 0700)
STATE_PARENT = Path("/var/tmp")
EXIM = Path("/opt/mta/exim4/usr/sbin/exim4")
EXIM_TRUSTED = Path("/etc/exim4/trusted_configs")
LOCAL_DOMAIN = "local.test"
KNOWN_RECIPIENT = f"alice@{LOCAL_DOMAIN}"


class MTAStartError(RuntimeError):
    pass


_state_base: Path | None = None


def state_base() -> Path:
    """This run's folder for instance trees (0755), made on first use."""
    global _state_base
    if _state_base is None:
        _state_base = Path(tempfile.mkdtemp(prefix="mta-conformance-", dir=STATE_PARENT))
        _state_base.chmod(0o755)
        atexit.register(remove_state_base)  # for users outside pytest (bench/)
    return _state_base


def remove_state_base() -> None:
    """Remove this run's folder and any trusted_configs lines pointing into it (also after failures)."""
    global _state_base
    base, _state_base = _state_base, None
    if base is None:
        return
    shutil.rmtree(base, ignore_errors=True)
    _untrust(lambda line: line.startswith(f"{base}/"))


def _untrust(drop: Callable[[str], bool]) -> None:
    """Remove matching lines from Exim's trusted_configs; the file (and /etc/exim4) too when left empty."""
    try:
        lines = EXIM_TRUSTED.read_text().splitlines()
    except OSError:
        return
    kept = [line for line in lines if not drop(line)]
    if kept == lines:
        return
    if kept:
        EXIM_TRUSTED.write_text("".join(f"{line}\n" for line in kept))
        return
    EXIM_TRUSTED.unlink()
    try:
        EXIM_TRUSTED.parent.rmdir()
    except OSError:
        pass  # not empty: a real Exim's configuration lives there


def _sbin(command: str) -> str:
    """A Postfix command, also when /usr/sbin is not on PATH (a non-login root shell)."""
    return shutil.which(command) or f"/usr/sbin/{command}"


def needs_root(name: str) -> str:
    """The reason a real MTA cannot run as this user, or "" as root."""
    if os.geteuid() == 0:
        return ""
    return f"needs root: {name} is started as root and drops to its own users; run the tests as root to include it"


@dataclass(frozen=True)
class MTAPorts:
    strict: int
    backscatter: int
    relay: int
    plain_relay: int
    sink: int
    #: a third listener, for an MTA that plays its own mailbox backend (Haraka)
    mailbox: int = 0


@dataclass(frozen=True)
class Timing:
    """An MTA's measured clock, from which a run's waits are set.

    The quiet period (how long a run waits for an NDR that must not come) and the
    NDR timeout are set at no less than three times the bounce latency measured
    here, so that a late backscatter NDR cannot arrive after its verdict.  The
    delay timeout of the opt-in slow pair lies between the first delay notice and
    the queue lifetime, so the delayed DSN arrives and the final one does not.
    """

    #: seconds from acceptance to the NDR at the sink, measured on the lab machine
    bounce_latency: float
    #: seconds until the first "delayed" DSN (the template's warn timer)
    delay_notice: float
    #: seconds until a deferred message expires (the template's queue lifetime)
    queue_lifetime: float

    @property
    def quiet_period(self) -> float:
        return max(5.0, 3 * self.bounce_latency)

    @property
    def ndr_timeout(self) -> float:
        return max(30.0, 3 * self.bounce_latency)

    @property
    def delay_timeout(self) -> float:
        """Above the warn timer (with its queue-run slack), below the queue lifetime."""
        return min(self.delay_notice + 25, self.queue_lifetime - 10)


def wait_for_greeting(host: str, port: int, deadline: float) -> bytes:
    """Poll until *port* answers with a complete 220 line, or raise at *deadline*."""
    last = "no attempt"
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1.0) as sock:
                sock.settimeout(max(0.1, deadline - time.monotonic()))
                data = b""
                while not data.endswith(b"\n"):
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                if data.startswith(b"220"):
                    sock.sendall(b"QUIT\r\n")
                    return data
                last = f"greeting {data!r}"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.1)  # poll interval between connection attempts, not synchronisation
    raise MTAStartError(f"port {port} gave no 220 greeting before the deadline ({last})")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _wait_pid_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            return True
        time.sleep(0.05)
    return not _pid_alive(pid)


def terminate(pid: int) -> None:
    """Ask *pid* to stop (SIGTERM); one already gone is fine."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass


def kill_after(pid: int, timeout: float) -> None:
    """Wait up to *timeout* for *pid* (already sent SIGTERM) to exit, then SIGKILL it."""
    if not _wait_pid_gone(pid, timeout):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        _wait_pid_gone(pid, 2)


class RealMTA(ABC):
    """Base class: render, start, wait, stop by pid."""

    name = "mta"
    label = "the MTA"
    host = "127.0.0.1"
    timing = Timing(bounce_latency=1.0, delay_notice=20, queue_lifetime=60)

    def __init__(self, ports: MTAPorts, state_dir: Path | None = None) -> None:
        self.ports = ports
        self._state = state_dir
        self.pid: int | None = None

    @property
    def state(self) -> Path:
        """The instance's tree (made in this run's folder on first use, so a skipped test makes none)."""
        if self._state is None:
            self._state = state_base() / f"{self.name}-{uuid.uuid4().hex[:6]}"
        return self._state

    @property
    def strict_port(self) -> int:
        return self.ports.strict

    @property
    def backscatter_port(self) -> int:
        return self.ports.backscatter

    def available(self) -> tuple[bool, str]:
        """Installed and startable by this user; otherwise False and why."""
        installed, reason = self.installed()
        root = needs_root(self.label)
        if root:
            return False, root + ("" if installed else f"; also {reason}")
        return installed, reason

    @abstractmethod
    def installed(self) -> tuple[bool, str]:
        """Each MTA kind says how."""

    def install(self) -> None:
        if os.geteuid() != 0:
            raise MTAStartError(f"{self.name} is not installed and installing needs root: run `sudo lab/install.sh {self.install_name}`")
        proc = subprocess.run(["bash", str(LAB / "install.sh"), self.install_name],
                              capture_output=True, text=True, timeout=600, check=False)
        if proc.returncode != 0:
            raise MTAStartError(f"lab/install.sh {self.install_name} failed:\n{proc.stdout}{proc.stderr}")

    install_name = ""

    def variables(self) -> dict[str, str]:
        p = self.ports
        return {
            "STRICT_PORT": str(p.strict), "BACKSCATTER_PORT": str(p.backscatter),
            "RELAY_PORT": str(p.relay), "PLAIN_RELAY_PORT": str(p.plain_relay), "SINK_PORT": str(p.sink),
            "MAILBOX_PORT": str(p.mailbox),
        }

    def render(self, template: Path, target: Path) -> None:
        text = template.read_text(encoding="utf-8")
        for key, value in self.variables().items():
            text = text.replace(f"@{key}@", value)
        left = re.findall(r"@[A-Z_]+_(?:PORT|DIR)@|@MODE@", text)
        if left:
            raise MTAStartError(f"unrendered variable {left[0]} left in {template}")
        target.write_text(text, encoding="utf-8")

    def _prepare_base(self) -> None:
        root = needs_root(self.label)
        if root:
            raise MTAStartError(root)
        self.state.mkdir(parents=True, exist_ok=True)
        self.state.chmod(0o755)

    @abstractmethod
    def start(self, timeout: float = 30) -> None:
        """Each MTA kind says how."""

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        try:
            for port in (self.ports.strict, self.ports.backscatter):
                wait_for_greeting(self.host, port, deadline)
        except MTAStartError as exc:
            raise MTAStartError(f"{self.name} did not come up: {exc}\n{self.log_tail()}") from None

    @abstractmethod
    def stop(self, timeout: float = 10) -> None:
        """Each MTA kind says how."""

    def _kill_pid(self, timeout: float) -> None:
        if self.pid is not None:
            kill_after(self.pid, timeout)
        self.pid = None

    @abstractmethod
    def log_path(self) -> Path:
        """Each MTA kind says how."""

    def log_tail(self, n: int = 20) -> str:
        try:
            lines = self.log_path().read_text(errors="replace").splitlines()
        except OSError:
            return f"(no log at {self.log_path()})"
        return "\n".join(lines[-n:])

    def cleanup(self) -> None:
        if self._state is not None:
            shutil.rmtree(self._state, ignore_errors=True)


def new_ports() -> MTAPorts:
    """Strict, backscatter, relay (= sink: the harness's DSN port), plain relay.

    Real MTAs read their ports from a configuration file, so the ports are picked
    before anything binds them: ``free_port`` picks them in 20000-32000, below
    the kernel's ephemeral range, where no port-0 bind or outgoing connection of
    another test can take them in between.
    """
    relay = free_port()
    return MTAPorts(free_port(), free_port(), relay, free_port(), relay, free_port())


class ForegroundMTA(RealMTA):
    """An MTA that runs in the foreground: the process we start is the daemon, stopped by its pid."""

    _process: subprocess.Popen[bytes] | None = None

    def spawn(self, argv: list[str], log: Path) -> None:
        with log.open("ab") as out:
            self._process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                             start_new_session=True, cwd=self.state)
        self.pid = self._process.pid

    def ready_or_raise(self, timeout: float) -> None:
        """Wait for both greetings; a daemon that exits meanwhile fails at once, with its log."""
        deadline = time.monotonic() + timeout
        for port in (self.ports.strict, self.ports.backscatter):
            while True:
                process = self._process
                if process is not None and process.poll() is not None:
                    raise MTAStartError(f"{self.name} exited with status {process.returncode}\n{self.log_tail()}")
                try:
                    wait_for_greeting(self.host, port, min(deadline, time.monotonic() + 1))
                    break
                except MTAStartError as exc:
                    if time.monotonic() >= deadline:
                        raise MTAStartError(f"{self.name} did not come up: {exc}\n{self.log_tail()}") from None

    def stop(self, timeout: float = 10) -> None:
        if self.pid is None:
            return
        terminate(self.pid)
        process = self._process
        if process is not None:
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
            self.pid = None
            return
        self._kill_pid(timeout)
