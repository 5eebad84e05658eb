"""The build spec schema: defaults, validation and one-line errors naming key and file."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import REPO
from hardbase.build.spec import DEFAULT_USER, BuildSpec, Flavour, SpecError, load_spec, parse_spec

ASSETS = REPO / "tests" / "assets" / "build"
EXAMPLES = REPO / "examples"


def test_unknown_nested_key_named_with_file() -> None:
    path = ASSETS / "unknown-key.yaml"
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    message = str(caught.value)
    assert "'strip-manpages'" in message
    assert "in hardening" in message
    assert str(path) in message
    assert "\n" not in message


def test_unknown_key_names_its_line() -> None:
    path = ASSETS / "unknown-key.yaml"
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert str(caught.value).startswith(f"{path}:5: unknown key 'strip-manpages'")


def test_unknown_top_level_key_named() -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(ASSETS / "unknown-top-key.yaml")
    assert "unknown key 'pakages'" in str(caught.value)


def test_run_as_missing_user_rejected() -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(ASSETS / "run-as-missing-user.yaml")
    assert "run-as 'web'" in str(caught.value)


def test_missing_file_is_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(tmp_path / "absent.yaml")
    assert "absent.yaml" in str(caught.value)


def test_invalid_yaml_names_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\npackages: [bash\n")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert "invalid YAML at line" in str(caught.value)


def test_defaults_run_as_nonroot_uid_1000() -> None:
    spec = parse_spec({"name": "plain"}, "inline")
    assert spec.accounts() == (DEFAULT_USER,)
    assert spec.run_as_user().uid == 1000
    assert spec.run_as_user().shell == "/usr/sbin/nologin"
    assert spec.hardening.flavour is Flavour.STANDARD


def test_security_suite_on_by_default() -> None:
    spec = parse_spec({"name": "plain", "distribution": {"suite": "bookworm"}}, "inline")
    sources = spec.distribution.sources()
    assert "deb http://deb.debian.org/debian-security bookworm-security main" in sources
    assert "deb http://deb.debian.org/debian bookworm-updates main" in sources


def test_unstable_has_no_security_suite() -> None:
    spec = parse_spec({"name": "plain", "distribution": {"suite": "unstable"}}, "inline")
    assert spec.distribution.sources() == ["deb http://deb.debian.org/debian unstable main"]


def test_security_can_be_turned_off() -> None:
    spec = parse_spec(
        {"name": "plain", "distribution": {"suite": "bookworm", "security": False}}, "inline"
    )
    assert not any("security" in line for line in spec.distribution.sources())


def test_mode_parsed_as_octal() -> None:
    spec = parse_spec(
        {"name": "plain", "paths": [{"path": "/data", "mode": "0750", "owner": "nonroot"}]},
        "inline",
    )
    assert spec.paths[0].mode == 0o750


def test_relative_path_rejected() -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec({"name": "plain", "paths": [{"path": "data"}]}, "inline")
    assert "absolute path" in str(caught.value)


def test_invalid_package_name_rejected() -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec({"name": "plain", "packages": ["Bad Name"]}, "inline")
    assert "'Bad Name'" in str(caught.value)


def test_user_without_uid_1000_needs_run_as() -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec({"name": "plain", "users": [{"name": "app", "uid": 2000}]}, "inline")
    assert "uid 1000" in str(caught.value)


def test_duplicate_uids_rejected() -> None:
    users = [{"name": "a", "uid": 1000}, {"name": "b", "uid": 1000}]
    with pytest.raises(SpecError) as caught:
        parse_spec({"name": "plain", "users": users}, "inline")
    assert "distinct" in str(caught.value)


def test_digest_ignores_key_order() -> None:
    first = parse_spec({"name": "plain", "env": {"A": "1", "B": "2"}}, "inline")
    second = parse_spec({"env": {"B": "2", "A": "1"}, "name": "plain"}, "inline")
    assert first.digest() == second.digest()


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_examples_are_valid(example: Path) -> None:
    spec = load_spec(example)
    assert isinstance(spec, BuildSpec)
    assert spec.run_as_user().uid == 1000
