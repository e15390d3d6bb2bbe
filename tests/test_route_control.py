"""Route control against the reference testee and the harness: each route proven on its own.

A target that refuses to relay to one domain makes only the routes through that
domain unprovable (the cases needing them could not test, naming the setting),
a target that accepts a control message and loses it fails the route (the
cases needing it fail with the control's message), and a case that ends
in-session is judged on its dialogue alone, whatever the routes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.findings import Outcome, Profile
from conformance.harness.servers import Harness, HarnessConfig
from conformance.progress import SILENT
from conformance.run import CaseResult, CaseRunner
from conformance.run.dialogue import new_token
from conformance.run.routes import RouteControl, RouteState
from conformance.run.waiting import WatchedMailbox
from conformance.suite.loader import load_suite
from conformance.suite.locate import shipped_case_files
from conformance.suite.model import Case
from conformance.target import ROUTES, StartTLS, TargetSettings, make_settings
from conformance.testee import Testee, TesteeConfig

CASES: dict[str, Case] = {case.id: case for path in shipped_case_files() if path.parent.name == "after-acceptance"
                          for case in load_suite(path).cases}
RELAY_CASE = CASES["ndr.next-hop-refuses-rcpt"]  # relay_route and bounce_route, waits for one NDR
PLAIN_CASE = CASES["dsn-request.no-notify-plain-hop-accepts"]  # plain_relay_route and bounce_route
#: bounce_route; an unknown user refused at RCPT ends it in-session ('otherwise: pass')
IN_SESSION_CASE = CASES["backscatter.unknown-local-user.no-ndr"]
NDR_TIMEOUT = 3.0


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    with Harness(HarnessConfig()) as h:
        yield h


@pytest.fixture(scope="module")
def elsewhere() -> Iterator[Harness]:
    """A second harness nobody watches: mail routed there is accepted and never reaches the run's harness."""
    with Harness(HarnessConfig()) as h:
        yield h


def make_testee(harness: Harness, routed: dict[str, Harness] | None = None, faults: frozenset[str] = frozenset(),
               skip: tuple[str, ...] = ()) -> Testee:
    """A testee routing the test domains to *harness* (or to the harness *routed* names), without *skip*."""
    routed = routed or {}
    ports = {"relay.test": "dsn_port", "sender.test": "dsn_port", "plain-relay.test": "plain_port"}
    routes = {domain: ("127.0.0.1", getattr(routed.get(domain, harness), attr))
              for domain, attr in ports.items() if domain not in skip}
    return Testee(TesteeConfig(faults=faults, routes=routes))


def settings_for(testee: Testee, harness: Harness, relay_domain: str | None = "relay.test") -> TargetSettings:
    return make_settings(
        host=testee.host, port=testee.port, helo="routes.mta-conformance.test", sender="probe@sender.test",
        local_domain="local.test", known_recipient="alice@local.test", starttls=StartTLS.OFF, timeout=5,
        profile=Profile.ANTI_BACKSCATTER, strict=False, report_dir=Path("unused"),
        sender_domain="sender.test", relay_domain=relay_domain, plain_relay_domain="plain-relay.test",
        harness_listen=("127.0.0.1", harness.dsn_port), harness_plain_listen=("127.0.0.1", harness.plain_port),
        ndr_timeout=NDR_TIMEOUT, quiet_period=1.0)


def run_cases(testee: Testee, harness: Harness, cases: list[Case], prepare: bool = True,
              relay_domain: str | None = "relay.test") -> tuple[CaseRunner, dict[str, CaseResult]]:
    """The cases as the plugin runs them: every waiting dialogue first (prepare), then each judged."""
    runner = CaseRunner(settings_for(testee, harness, relay_domain), mailbox=lambda: harness.mailbox)
    if prepare:
        runner.prepare(cases)
    return runner, {case.id: runner.run(case) for case in cases}


def prove_all(testee: Testee, harness: Harness) -> tuple[RouteControl, dict[str, RouteState]]:
    control = RouteControl(settings_for(testee, harness), WatchedMailbox(harness.mailbox, SILENT, "routes"),
                           new_token())
    return control, {route: proof.state for route, proof in control.prove(ROUTES).items()}


def test_good_target_proves_every_route_once(harness: Harness) -> None:
    with make_testee(harness) as testee:
        control, states = prove_all(testee, harness)
        assert states == dict.fromkeys(ROUTES, RouteState.PROVEN)
        sessions = control.transcript.count("route control for ")
        assert sessions == 3  # one session per route
        control.prove(ROUTES)  # proven once per run: no second control
        assert control.transcript.count("route control for ") == sessions
        runner, results = run_cases(testee, harness, [RELAY_CASE, PLAIN_CASE, IN_SESSION_CASE])
    assert {r.outcome for r in results.values()} == {Outcome.PASSED}, [r.summary() for r in results.values()]
    for route in ROUTES:  # the relay and plain cases both need the bounce route: it is controlled once
        assert runner.route_transcript.count(f"route control for {route}:") == 1


def test_target_refusing_relay_cannot_test_relay_cases(harness: Harness) -> None:
    """relay.test is not routed: the testee answers 550 5.7.1 Relay access denied to the control and the cases."""
    with make_testee(harness, skip=("relay.test",)) as testee:
        control, states = prove_all(testee, harness)
        _, results = run_cases(testee, harness, [RELAY_CASE, PLAIN_CASE, IN_SESSION_CASE])
    # the plain relay route is proven although the relay route's control was refused
    assert states == {"relay_route": RouteState.UNPROVABLE, "bounce_route": RouteState.UNPROVABLE,
                      "plain_relay_route": RouteState.PROVEN}
    relay = results[RELAY_CASE.id]
    assert relay.outcome is Outcome.COULD_NOT_TEST, relay.summary()
    assert relay.reason.startswith("could not test: the target refused the route control for relay.test in-session (")
    assert "550 5.7.1" in relay.reason and "Relay access denied" in relay.reason
    assert f"route relay.test to the harness at 127.0.0.1:{harness.dsn_port}" in relay.reason
    assert "allow relaying to it from this client, see --mta-relay-domain" in relay.reason
    assert "route control for relay_route" in relay.transcript  # the evidence: the refused control
    # the plain case needs the bounce route, which is provoked through relay.test
    assert results[PLAIN_CASE.id].outcome is Outcome.COULD_NOT_TEST
    plain = results[PLAIN_CASE.id].reason
    assert "the target refused the route control for bounces to sender.test in-session (" in plain
    assert "--mta-relay-domain and --mta-sender-domain" in plain
    # the unknown user is refused at RCPT: the case passes on its dialogue alone
    assert results[IN_SESSION_CASE.id].outcome is Outcome.PASSED, results[IN_SESSION_CASE.id].summary()


def test_in_session_case_never_consults_routes(harness: Harness) -> None:
    """A case that ends in-session starts no route control at all."""
    with make_testee(harness, skip=("relay.test",)) as testee:
        runner, results = run_cases(testee, harness, [IN_SESSION_CASE])
    assert results[IN_SESSION_CASE.id].outcome is Outcome.PASSED
    assert runner.route_transcript == ""


def test_in_session_case_fails_on_its_dialogue_whatever_the_routes(harness: Harness) -> None:
    """The unknown-user refusal carries 5.01.1: ESC-001 fails the case although no route is provable."""
    with make_testee(harness, faults=frozenset({"invalid-enhanced-syntax"}), skip=("relay.test",)) as testee:
        _, results = run_cases(testee, harness, [IN_SESSION_CASE, RELAY_CASE])
    result = results[IN_SESSION_CASE.id]
    assert result.outcome is Outcome.FAILED
    assert "ESC-001" in {f.check_id for f in result.findings}
    assert not any("route" in e for e in result.errors)
    assert results[RELAY_CASE.id].outcome is Outcome.COULD_NOT_TEST


def test_target_refusing_only_the_plain_domain(harness: Harness) -> None:
    """plain-relay.test is not routed: its cases could not test, the relay cases are judged as ever."""
    with make_testee(harness, skip=("plain-relay.test",)) as testee:
        _, states = prove_all(testee, harness)
        _, results = run_cases(testee, harness, [RELAY_CASE, PLAIN_CASE], prepare=False)
    assert states == {"relay_route": RouteState.PROVEN, "bounce_route": RouteState.PROVEN,
                      "plain_relay_route": RouteState.UNPROVABLE}
    assert results[RELAY_CASE.id].outcome is Outcome.PASSED, results[RELAY_CASE.id].summary()
    plain = results[PLAIN_CASE.id]
    assert plain.outcome is Outcome.COULD_NOT_TEST
    assert "refused the route control for plain-relay.test in-session" in plain.reason
    assert "see --mta-plain-relay-domain" in plain.reason


def test_target_accepting_relay_but_never_delivering_fails_the_route(harness: Harness, elsewhere: Harness) -> None:
    """relay.test goes to another harness: accepted, never arrives; the bounce it provokes still comes back."""
    with make_testee(harness, routed={"relay.test": elsewhere}) as testee:
        _, states = prove_all(testee, harness)
        runner, results = run_cases(testee, harness, [RELAY_CASE, IN_SESSION_CASE])
    assert states["relay_route"] is RouteState.FAILED
    assert states["bounce_route"] is RouteState.PROVEN  # the other harness's next hop refused rej-rcpt: a bounce
    relay = results[RELAY_CASE.id]
    assert relay.outcome is Outcome.FAILED
    assert relay.errors[0].startswith("route control failed: the target accepted a message to ok.ctrl-")
    assert f"did not reach the harness's next hop within {NDR_TIMEOUT:g} s" in relay.errors[0]
    assert "route control for relay_route" in relay.transcript and "route control for" in runner.route_transcript
    assert results[IN_SESSION_CASE.id].outcome is Outcome.PASSED


def test_bounce_route_without_relay_domain_is_unprovable(harness: Harness) -> None:
    """Nothing provokes a bounce without a relay domain: the case that waits for one could not test."""
    with make_testee(harness, faults=frozenset({"accept-unknown-recipients"})) as testee:
        _, results = run_cases(testee, harness, [IN_SESSION_CASE], prepare=False, relay_domain=None)
    result = results[IN_SESSION_CASE.id]  # the unknown user is accepted: the verdict needs the bounce route
    assert result.outcome is Outcome.COULD_NOT_TEST
    assert "give --mta-relay-domain and --mta-sender-domain" in result.reason


def test_lost_bounces_fail_every_case_that_needs_them(harness: Harness, elsewhere: Harness) -> None:
    """tests/test_after_acceptance.py's scenario on the testee: sender.test goes elsewhere, so no bounce comes back.

    Every trial case completes its dialogue and then fails with the route
    control's message; the null-sender case, which expects no NDR, too, instead
    of passing for the wrong reason.
    """
    trial = list(load_suite(Path(__file__).parent / "data" / "trial.mta.yaml").cases)
    with make_testee(harness, routed={"sender.test": elsewhere}) as testee:
        _, results = run_cases(testee, harness, trial)
    assert {r.outcome for r in results.values()} == {Outcome.FAILED} and len(results) == 4
    for result in results.values():
        assert result.errors[0].startswith("route control failed: the target accepted a message to rej-rcpt.ctrl-")
        assert "no bounce for ctrl-" in result.errors[0] and "route sender.test to 127.0.0.1:" in result.errors[0]
