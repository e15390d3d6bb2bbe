"""Run cases against one target: the probe, the gaps, each case's dialogue, the routes, the judges.

The runner is independent of pytest: it turns a :class:`Case` into a
:class:`CaseResult`.  The data flows one way: the probe says what the target
offers, a case's dialogue says what it answered (:mod:`.dialogue`), the harness
says what it did afterwards (:mod:`.captured`, :mod:`.relayed`), and
:mod:`.result` decides.  A case's dialogue runs before its routes are
consulted (:mod:`.routes`): a case that ends in-session is judged on its
dialogue alone, whatever the routes.
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
from .routes import RouteControl, RouteState, RouteStatus
from .waiting import DeadlinePassed, MailSource, WatchedMailbox


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
        self._control: RouteControl | None = None  #: made on first need; keeps every route's proof
        self.route_transcript = ""
        self._prepared: dict[str, Dialogue] = {}
        #: shows what the run waits for (the plugin sets a terminal one; silent elsewhere)
        self.progress: Progress = SILENT
        #: the run's deadline on the monotonic clock (--mta-run-deadline), counted from here; None: no deadline
        self.deadline: float | None = None
        if settings.run_deadline > 0:
            self.deadline = time.monotonic() + settings.run_deadline

    # -- once per run ---------------------------------------------------------------
    @property
    def probed(self) -> ProbeResult | None:
        """The probe's result if it has run (reports must not start a probe)."""
        return self._probe

    def adopt_probe(self, probe: ProbeResult) -> None:
        """Use a probe run elsewhere (an xdist worker gets its controller's): one probe per run."""
        self._probe = probe

    def deadline_left(self) -> float | None:
        """Seconds left before the run's deadline (0 once passed), or None without a deadline."""
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())

    def adopt_deadline(self, seconds_left: float) -> None:
        """Keep the deadline of the run's controller (an xdist worker starts later, its run does not)."""
        self.deadline = time.monotonic() + seconds_left

    def deadline_passed(self) -> str | None:
        """Why no case may start any more (the run's deadline has passed), or None."""
        if self.deadline is None or time.monotonic() < self.deadline:
            return None
        return f"the run's deadline (--mta-run-deadline {self.settings.run_deadline:g} s) passed"

    def probe(self) -> ProbeResult:
        if self._probe is None:
            s = self.settings
            with self.progress.waiting(f"the probe session with {s.host}:{s.port}", 7 * s.timeout):
                self._probe = run_probe(s)
        return self._probe

    def harness_error(self, case: Case) -> str | None:
        """Why the harness a case needs cannot run (it could not listen), or None.

        The one place that asks: every case that uses the harness passes here before
        its dialogue and its route control, so those need not ask again.
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
        if self.mailbox is None:
            return None
        return WatchedMailbox(self.mailbox(), self.progress, subject, self.deadline)

    def routes(self, case: Case) -> RouteStatus:
        """The proofs of the routes *case* needs; each route is controlled at most once per run."""
        if self.deadline_passed():  # a route control talks to the target again: never after the deadline
            raise DeadlinePassed("the route control")
        if self._control is None:
            self._control = RouteControl(self.settings, self.watched("the route control"), new_token())
        status = self._control.prove(r for r in case.requires if r in ROUTES)
        self.route_transcript = self._control.transcript
        return status

    # -- cases ------------------------------------------------------------------------
    def obstacle(self, case: Case) -> CaseResult | None:
        """The result of a case that cannot run its dialogue (could not test, skipped), or None.

        Routes are not among them: a case's dialogue runs first, and only a verdict
        that needs what happens after acceptance consults them (``after_dialogue``).
        Once the run's deadline has passed, no case starts.
        """
        late = self.deadline_passed()
        if late:
            return CaseResult(case.id, Outcome.COULD_NOT_TEST, reason=f"could not test: {late} before this case "
                              "started")
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
        return None

    def prepare(self, cases: list[Case]) -> None:
        """Hold the dialogues of all cases that wait for NDRs now, so their waits overlap.

        Each such case is then judged by ``run`` against deadlines counted from
        its own dialogue, and the whole set takes little more than its slowest case.
        Only waiting cases are held: an in-session case never gets here, so it never
        completes a DATA.
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
        try:
            result = self.after_dialogue(dialogue)
        except DeadlinePassed as cut:
            result = self.cut_short(dialogue, str(cut))
        result.duration = time.monotonic() - started
        return result

    def after_dialogue(self, dialogue: Dialogue) -> CaseResult:
        """The case's result once its dialogue is over: routes and the harness only when the verdict needs them."""
        case = dialogue.case
        if not needs_routes(dialogue):
            if case.waits and dialogue.undisturbed:
                self.judge_captured(dialogue)
            return dialogue.result()
        status = self.routes(case)
        blocked = self.route_result(dialogue, status)
        if blocked is not None:
            return blocked
        if dialogue.undisturbed:
            self.judge_captured(dialogue)
        return dialogue.result()

    def cut_short(self, dialogue: Dialogue, what: str) -> CaseResult:
        """The result of a case whose wait the run's deadline ended: nothing after its dialogue is judged."""
        told = dialogue.result()
        late = self.deadline_passed() or "the run's deadline passed"
        reason = f"could not test: {late} while the case waited for {what}"
        return CaseResult(dialogue.case.id, Outcome.COULD_NOT_TEST, reason=reason, transcript=told.transcript,
                          token=told.token, started=told.started)

    def route_result(self, dialogue: Dialogue, status: RouteStatus) -> CaseResult | None:
        """The result of a case whose routes are broken (failed) or unprovable (could not test), or None."""
        broken = [f"route control failed: {p.message}" for p in status.values() if p.state is RouteState.FAILED]
        unprovable = [p.message for p in status.values() if p.state is RouteState.UNPROVABLE]
        if not (broken or unprovable):
            return None
        result = dialogue.result()
        if broken:
            result.outcome, result.errors = Outcome.FAILED, broken + result.errors
            result.transcript = joined(self.route_transcript, result.transcript)
            return result
        why = "; ".join(unprovable)
        if result.outcome is Outcome.FAILED and not result.errors:
            # its in-session findings fail it whatever the routes: what happened afterwards is not judged
            result.reason = f"what reached the harness was not judged: {why}"
            return result
        # a failed precondition (the RCPT to a domain the target does not relay) is explained by the route
        result.outcome, result.errors, result.reason = Outcome.COULD_NOT_TEST, [], f"could not test: {why}"
        result.transcript = joined(self.route_transcript, result.transcript)
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
        if log.unjudged and not dialogue.inconclusive:
            dialogue.inconclusive = "inconclusive: " + "; ".join(log.unjudged)


def needs_routes(dialogue: Dialogue) -> bool:
    """Whether the case's verdict needs what happens after acceptance, hence its routes.

    Not when the case waits for nothing at the harness, nor when its dialogue
    ended in-session with a verdict of its own: an 'otherwise: pass' or 'skip'
    expectation, a temporary failure (inconclusive), replies out of step.  A
    dialogue stopped by a failed precondition does need them: a target that
    refuses to relay to the relay domain fails the case's RCPT, and the route
    says whether that is a finding or a setting.
    """
    ended_in_session = bool(dialogue.passed_early or dialogue.skipped or dialogue.inconclusive) \
        or dialogue.surplus is not None
    return dialogue.case.waits and not ended_in_session and any(r in ROUTES for r in dialogue.case.requires)


def joined(route_transcript: str, transcript: str) -> str:
    """The route control's sessions, then the case's own dialogue: the evidence of a route-blocked case."""
    if not route_transcript:
        return transcript
    return f"{route_transcript}\n         === the case's own dialogue:\n{transcript}"


__all__ = ["CaseResult", "CaseRunner", "ProbeResult"]
