"""Shared fixtures: real MTAs (session-scoped) and the reference testee."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from realmta import EximInstance, MTAStartError, PostfixInstance, RealMTA, new_ports, remove_state_base

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


def _running(kind: type[RealMTA]) -> Iterator[RealMTA]:
    """One instance for the whole session, stopped by its pid at the end."""
    mta = kind(new_ports())
    try:
        yield _start(mta)
    finally:
        mta.stop()
        mta.cleanup()


@pytest.fixture(scope="session")
def postfix_mta() -> Iterator[RealMTA]:
    yield from _running(PostfixInstance)


@pytest.fixture(scope="session")
def exim_mta() -> Iterator[RealMTA]:
    yield from _running(EximInstance)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish() -> None:
    """After the session's fixtures are torn down: remove this run's MTA state folder, even after failures."""
    remove_state_base()
