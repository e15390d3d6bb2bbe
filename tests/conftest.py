"""Shared fixtures: the lab's real MTAs (session-scoped, started on first use) and the reference testee."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from realmta import KINDS, MTAStartError, RealMTA, new_ports, remove_state_base

pytest_plugins = ["pytester"]

IN_CI = os.environ.get("CI", "").lower() == "true"


def _unavailable(reason: str) -> None:
    """In CI a real-MTA test that cannot run is a failure, never a silent hole."""
    if IN_CI:
        pytest.fail(f"CI=true and the real MTA cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


def _start(mta: RealMTA) -> RealMTA:
    ok, reason = mta.available()
    if not ok and reason.startswith("needs root"):
        _unavailable(reason)
    if not ok:
        try:
            mta.install()
        except MTAStartError as exc:
            _unavailable(f"{reason}; {exc}")
    try:
        mta.start()
    except (MTAStartError, OSError) as exc:
        mta.stop()
        _unavailable(f"{mta.name} did not start: {exc}")
    return mta


class Lab:
    """The lab MTAs of this session: each started on first use, all stopped by pid at the end."""

    def __init__(self) -> None:
        self.running: dict[str, RealMTA] = {}
        self.failed: dict[str, str] = {}

    def get(self, name: str) -> RealMTA:
        if name in self.failed:
            _unavailable(self.failed[name])
        if name not in self.running:
            mta = KINDS[name](new_ports())
            try:
                self.running[name] = _start(mta)
            except BaseException as exc:  # a skip or failure: remembered, so later tests say the same at once
                mta.cleanup()
                self.failed[name] = str(exc)
                raise
        return self.running[name]

    def stop(self) -> None:
        for mta in self.running.values():
            mta.stop()
            mta.cleanup()
        self.running.clear()


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    started = Lab()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="session")
def postfix_mta(lab: Lab) -> RealMTA:
    return lab.get("postfix")


@pytest.fixture(scope="session")
def exim_mta(lab: Lab) -> RealMTA:
    return lab.get("exim")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish() -> None:
    """After the session's fixtures are torn down: remove this run's MTA state folder, even after failures."""
    remove_state_base()
