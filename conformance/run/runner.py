"""Run cases against one target: the probe, the gaps, the routes, then each case's dialogue and judges.

The runner is independent of pytest: it turns a :class:`Case` into a
:class:`CaseResult`.  The data flows one way: the probe says what the target
offers, a case's dialogue says what it answered (:mod:`.dialogue`), the harness
says what it did afterwards (:mod:`.captured`, :mod:`.relayed`), and
:mod:`.result` decides.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..findings import Outcome
from ..progress import SILENT, Progress
from ..suite.model import Case
from ..suite.requirements import requirement_gap
from ..target import ROUTES, TargetSettings
from .captured import judge_ndrs
from .dialogue import Dialogue, new_token
from .probe import ProbeResult, run_probe
from .relayed import judge_relayed
from .result import CaseResult
from .routes import RouteControl, RouteStatus
from .waiting import MailSource, WatchedMailbox


class CaseRunner:
    """Runs cases against one target; probes it once per process.

    *mailbox* gives the harness's captured transactions, for cases that judge
    what arrives after the dialogue (it starts the harness on first use and
    raises RuntimeError, with the reason, when the harness cannot listen).
    """

    def __init__(self, settings: TargetSettings, mailbox: Callable[[], MailSource] | None = None) -> None:
        self.settings = settings
        self.mailbox = mailbox
        self._probe: ProbeResult | None = None
        self._routes: RouteStatus = {}  #: filled once, on first need
        self.route_transcript = ""
        self._prepared: dict[str, Dialogue] = {}
        #: shows what the run waits for (the plugin sets a terminal one; silent elsewhere)
        self.progress: Progress = SILENT

    # -- once per run ---------------------------------------------------------------
    @property
    def probed(self) -> ProbeResult | None:
        """The probe's result if it has run (reports must not start a probe)."""
        return self._probe

    def adopt_probe(self, probe: ProbeResult) -> None:
        """Use a probe run elsewhere (an xdist worker gets its controller's): one probe per run."""
        self._probe = probe

    def probe(self) -> ProbeResult:
        if self._probe is None:
            s = self.settings
            with self.progress.waiting(f"the probe session with {s.host}:{s.port}", 7 * s.timeout):
                self._probe = run_probe(s)
        return self._probe

    def harness_error(self, case: Case) -> str | None:
        """Why the harness a case needs cannot run (it could not listen), or None.

        The one place that asks: every case that uses the harness passes here before
        its route control and its dialogue, so those need not ask again.
        """
        if not any(r in ROUTES for r in case.requires) and not case.waits:
            return None
        try:
            if self.mailbox is not None:
                self.mailbox()
        except RuntimeError as exc:
            return str(exc)
        return None

    def watched(self, subject: str) -> WatchedMailbox | None:
        """The harness's mailbox, its waits shown as progress; None when no harness runs."""
        return WatchedMailbox(self.mailbox(), self.progress, subject) if self.mailbox is not None else None

    def route_errors(self, case: Case) -> list[str]:
        """Prove the routes *case* needs (once per run); the reasons of those that failed."""
        needed = [r for r in case.requires if r in ROUTES]
        if needed and not self._routes:
            mailbox = self.watched("the route control")  # harness_error has proved it listens
            if mailbox is None:
                self._routes = dict.fromkeys(ROUTES, "no harness runs")
            else:
                control = RouteControl(self.settings, mailbox, new_token())
                self._routes = control.prove()
                self.route_transcript = control.transcript
        return [f"route control failed: {self._routes[r]}" for r in needed if self._routes.get(r)]

    # -- cases ------------------------------------------------------------------------
    def obstacle(self, case: Case) -> CaseResult | None:
        """The result of a case that cannot run its dialogue (could not test, skipped, broken route), or None."""
        probe = self.probe()
        if probe.error:
            return CaseResult(case.id, Outcome.COULD_NOT_TEST, reason=f"could not test: {probe.error}",
                              transcript=probe.transcript)
        gap = requirement_gap(case, self.settings, probe.capabilities)
        if gap:
            return CaseResult(case.id, Outcome.SKIPPED, reason=gap)
        harness_error = self.harness_error(case)
        if harness_error:
            return CaseResult(case.id, Outcome.COULD_NOT_TEST, reason=f"could not test: {harness_error}")
        broken = self.route_errors(case)
        if broken:
            return CaseResult(case.id, Outcome.FAILED, errors=broken, transcript=self.route_transcript)
        return None

    def prepare(self, cases: list[Case]) -> None:
        """Hold the dialogues of all cases that wait for NDRs now, so their waits overlap.

        Each such case is then judged by ``run`` against deadlines counted from
        its own dialogue, and the whole set takes little more than its slowest case.
        """
        for case in cases:
            if case.waits and case.id not in self._prepared and self.obstacle(case) is None:
                dialogue = self.dialogue(case)
                dialogue.talk()
                self._prepared[case.id] = dialogue

    def dialogue(self, case: Case) -> Dialogue:
        return Dialogue(self.settings, case, self.probe().capabilities, self.progress)

    def run(self, case: Case) -> CaseResult:
        started = time.monotonic()
        dialogue = self._prepared.pop(case.id, None)
        if dialogue is None:
            obstacle = self.obstacle(case)
            if obstacle is not None:
                return obstacle
            dialogue = self.dialogue(case)
            dialogue.talk()
        if case.waits and dialogue.undisturbed:
            self.judge_captured(dialogue)
        result = dialogue.result()
        result.duration = time.monotonic() - started
        return result

    def judge_captured(self, dialogue: Dialogue) -> None:
        """Wait for and judge the NDRs and relayed copies the case expects."""
        case, log = dialogue.case, dialogue.log
        mailbox = self.watched(case.id)  # proved by harness_error
        if mailbox is None:
            dialogue.errors.append("this case judges what reaches the harness, but no harness runs "
                                   "(set --mta-harness-listen)")
            return
        sent = dialogue.sent()
        if case.relayed is not None:
            judge_relayed(sent, case.relayed, mailbox, log)
        if case.ndr is not None:
            slow = "slow" in case.requires
            judge_ndrs(sent, case.ndr, mailbox, log, within=self.settings.delay_timeout if slow else None)


__all__ = ["CaseResult", "CaseRunner", "ProbeResult"]
