"""Profile comparison per syscall and architecture."""

from __future__ import annotations

from conftest import REPO
from hardbase.seccomp.diff import diff_profiles
from hardbase.seccomp.model import load_profile
from hardbase.seccomp.rules import Context, Verdict

ASSETS = REPO / "tests" / "assets" / "seccomp"


def test_same_profile_has_no_difference() -> None:
    profile = load_profile(ASSETS / "deny-mkdir.json")

    assert diff_profiles(profile, profile, Context.of_this_machine()) == ()


def test_sibling_difference_found() -> None:
    first = load_profile(ASSETS / "deny-mkdir.json")
    second = load_profile(ASSETS / "deny-mkdir-and-mkdirat.json")

    entries = diff_profiles(first, second, Context.of_this_machine())

    host = Context.of_this_machine().host.scmp
    assert [(e.architecture, e.syscall) for e in entries] == [(host, "mkdirat")]
    assert entries[0].first.verdict is Verdict.ALLOW
    assert entries[0].second.verdict is Verdict.DENY


def test_default_difference_lists_unnamed_syscalls() -> None:
    first = load_profile(ASSETS / "clean-allowlist.json")
    second = load_profile(ASSETS / "deny-mkdir.json")

    entries = diff_profiles(first, second, Context.of_this_machine())

    by_name = {(e.architecture, e.syscall): e for e in entries}
    host = Context.of_this_machine().host.scmp
    assert by_name[(host, "openat")].first.verdict is Verdict.DENY
    assert by_name[(host, "openat")].second.verdict is Verdict.ALLOW
    assert (host, "read") not in by_name
    assert (host, "mkdir") not in by_name


def test_conditional_rule_reported_as_conditional() -> None:
    first = load_profile(ASSETS / "clean-allowlist.json")
    second = load_profile(ASSETS / "sibling-bypass.json")

    entries = diff_profiles(first, second, Context.of_this_machine())

    personality = [e for e in entries if e.syscall == "personality"]
    assert personality
    assert personality[0].first.verdict is Verdict.CONDITIONAL
    assert personality[0].second.verdict is Verdict.DENY
