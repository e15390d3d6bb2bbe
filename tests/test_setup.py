"""The set-up the README promises: its test command is CI's, and the real MTAs need root, tidily."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
from realmta import KINDS, EximInstance, MTAStartError, new_ports
from realmta import base as realmta

ROOT = Path(__file__).resolve().parent.parent


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Set-up on a fresh machine", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)\n```", section, re.S)


def test_ci_runs_the_readme_test_command_in_a_venv() -> None:
    install_and_run, tests = _readme_commands()
    assert install_and_run.startswith("python3 -m venv .venv && ") and "mta-conformance run --testee" in install_and_run
    assert tests.startswith("python3 -m venv .venv && ") and tests.endswith("-m pytest")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci[-1] == tests
    assert ".venv/" in (ROOT / ".gitignore").read_text().splitlines()


@pytest.mark.parametrize("kind", list(KINDS.values()), ids=list(KINDS))
def test_real_mtas_need_root(kind: type[realmta.RealMTA], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(realmta.os, "geteuid", lambda: 1000)
    mta = kind(new_ports())
    ok, reason = mta.available()
    assert not ok and reason.startswith(f"needs root: {mta.label} ")
    with pytest.raises(MTAStartError, match="^needs root: "):
        mta.start()
    assert mta._state is None  # nothing was made


def test_state_base_is_traversable_and_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(realmta, "STATE_PARENT", tmp_path)
    monkeypatch.setattr(realmta, "_state_base", None)
    trusted = tmp_path / "etc" / "trusted_configs"
    monkeypatch.setattr(realmta, "EXIM_TRUSTED", trusted)
    base = realmta.state_base()
    assert base.parent == tmp_path and stat.S_IMODE(base.stat().st_mode) == 0o755
    mta = EximInstance(new_ports())
    assert mta.state.parent == base
    mta.state.mkdir()
    trusted.parent.mkdir()
    trusted.write_text(f"/elsewhere/exim4.conf\n{mta.config}\n")
    realmta.remove_state_base()
    assert not base.exists() and trusted.read_text() == "/elsewhere/exim4.conf\n"
    trusted.write_text(f"{realmta.state_base()}/exim-x/exim4.conf\n")
    realmta.remove_state_base()
    assert list(tmp_path.iterdir()) == []  # the emptied list and its folder go too
