"""Profile model: loading real and broken profiles."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import REPO
from hardbase.errors import InputError
from hardbase.seccomp.model import ProfileSchemaError, load_profile, parse_profile

ASSETS = REPO / "tests" / "assets" / "seccomp"
CONTAINERS_PROFILE = Path("/usr/share/containers/seccomp.json")


def test_containers_common_profile_loads() -> None:
    if not CONTAINERS_PROFILE.is_file():
        pytest.skip(
            "containers-common is not installed (apt-get install golang-github-containers-common)"
        )

    profile = load_profile(CONTAINERS_PROFILE)

    assert profile.default_action == "SCMP_ACT_ERRNO"
    assert profile.arch_map is not None
    assert profile.arch_map[0].architecture == "SCMP_ARCH_X86_64"
    assert any("execve" in rule.all_names for rule in profile.rules)
    assert any(rule.includes and rule.includes.caps for rule in profile.rules)


def test_profile_round_trips_through_json() -> None:
    profile = load_profile(ASSETS / "clean-allowlist.json")

    again = parse_profile(profile.to_json(), "round trip")

    assert again == profile
    assert '"valueTwo": 0' in profile.to_json()
    assert '"subArchitectures"' in profile.to_json()


def test_legacy_name_field_is_read() -> None:
    profile = load_profile(ASSETS / "clean-allowlist.json")

    assert profile.rules[1].all_names == ("personality",)
    assert profile.rules[1].name_path(1, 0) == "syscalls[1].name"


def test_schema_error_names_json_path() -> None:
    with pytest.raises(ProfileSchemaError) as caught:
        load_profile(ASSETS / "schema-error.json")

    assert caught.value.issues[0].path == "syscalls[3].action"
    assert "syscalls[3].action" in str(caught.value)


def test_unknown_key_is_schema_error() -> None:
    with pytest.raises(ProfileSchemaError) as caught:
        parse_profile('{"defaultAction": "SCMP_ACT_ERRNO", "defaultAcion": 1}', "typo")

    assert [issue.path for issue in caught.value.issues] == ["defaultAcion"]


def test_name_and_names_together_rejected() -> None:
    text = (
        '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": '
        '[{"name": "a", "names": ["b"], "action": "SCMP_ACT_ALLOW"}]}'
    )

    with pytest.raises(ProfileSchemaError) as caught:
        parse_profile(text, "both")

    assert caught.value.issues[0].path == "syscalls[0]"


def test_argument_index_above_five_rejected() -> None:
    text = (
        '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["a"], '
        '"action": "SCMP_ACT_ALLOW", "args": [{"index": 6, "value": 0, "op": "SCMP_CMP_EQ"}]}]}'
    )

    with pytest.raises(ProfileSchemaError) as caught:
        parse_profile(text, "index")

    assert caught.value.issues[0].path == "syscalls[0].args[0].index"


def test_malformed_json_names_line_and_column() -> None:
    with pytest.raises(InputError) as caught:
        load_profile(ASSETS / "malformed.json")

    message = str(caught.value)
    assert "malformed.json" in message
    assert "line 5, column 3" in message
    assert not isinstance(caught.value, ProfileSchemaError)


def test_missing_profile_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read profile"):
        load_profile(tmp_path / "absent.json")


def test_binary_profile_is_input_error(tmp_path: Path) -> None:
    path = tmp_path / "binary.json"
    path.write_bytes(b"\xff\xfe{}")

    with pytest.raises(InputError, match="not UTF-8"):
        load_profile(path)
