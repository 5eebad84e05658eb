"""Image reference parsing and normalization."""

from __future__ import annotations

import pytest

from hardbase.rebuild.references import ReferenceError, parse_reference

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    "text",
    ["debian", "library/debian", "docker.io/library/debian", "docker://debian:latest"],
)
def test_short_names_normalize(text: str) -> None:
    assert parse_reference(text).tagged == "docker.io/library/debian:latest"


def test_registry_with_port_is_host() -> None:
    reference = parse_reference(f"127.0.0.1:5000/team/base:1@{DIGEST}")
    assert reference.registry == "127.0.0.1:5000"
    assert reference.repository == "team/base"
    assert reference.tag == "1"
    assert reference.digest == DIGEST


def test_digest_only_matches_any_tag() -> None:
    pinned = parse_reference(f"127.0.0.1:5000/team/base@{DIGEST}")
    assert pinned.same_image(parse_reference("127.0.0.1:5000/team/base:7"))


def test_different_tags_do_not_match() -> None:
    assert not parse_reference("debian:bookworm").same_image(parse_reference("debian:trixie"))


@pytest.mark.parametrize("text", ["", "Debian:1", "debian@sha256:12", "host:5000/x:bad tag"])
def test_malformed_reference_rejected(text: str) -> None:
    with pytest.raises(ReferenceError):
        parse_reference(text)
