"""Dockerfile stage and base parsing."""

from __future__ import annotations

import pytest

from hardbase.rebuild.dockerfile_refs import DockerfileError, parse_dockerfile, rewrite_bases

MULTI_STAGE = """\
# escape=`
ARG BASE=127.0.0.1:5000/team/base
ARG TAG
FROM golang:1.22 AS build
RUN go build `
    -o /app
FROM ${BASE}:${TAG:-1} AS runtime
COPY --from=build /app /app
COPY --from=busybox:1.36 /bin/busybox /bin/
FROM runtime
"""


def test_final_base_follows_stage_chain() -> None:
    info = parse_dockerfile(MULTI_STAGE, "Dockerfile")
    final = info.final_base()
    assert final is not None
    assert final.reference is not None
    assert final.reference.tagged == "127.0.0.1:5000/team/base:1"


def test_build_inputs_include_earlier_stages_and_copy_from() -> None:
    info = parse_dockerfile(MULTI_STAGE, "Dockerfile")
    inputs = [reference.tagged for reference in info.build_inputs()]
    assert inputs == ["docker.io/library/golang:1.22", "docker.io/library/busybox:1.36"]


def test_build_arg_overrides_default() -> None:
    info = parse_dockerfile(MULTI_STAGE, "Dockerfile", {"TAG": "2", "BASE": "example.org/b"})
    final = info.final_base()
    assert final is not None and final.reference is not None
    assert final.reference.tagged == "example.org/b:2"


def test_platform_and_digest_kept() -> None:
    digest = "sha256:" + "cd" * 32
    info = parse_dockerfile(f"FROM --platform=linux/arm64 debian:bookworm@{digest}\n", "D")
    assert info.final.platform == "linux/arm64"
    assert info.final.reference is not None
    assert info.final.reference.digest == digest


def test_scratch_has_no_base() -> None:
    assert parse_dockerfile("FROM scratch\nCOPY a /\n", "D").final_base() is None


def test_empty_from_rejected() -> None:
    with pytest.raises(DockerfileError, match="expands to nothing"):
        parse_dockerfile("ARG BASE\nFROM $BASE\n", "Dockerfile")


def test_instruction_before_from_rejected() -> None:
    with pytest.raises(DockerfileError, match="before the first FROM"):
        parse_dockerfile("RUN true\nFROM debian\n", "Dockerfile")


def test_rewrite_keeps_flags_and_alias() -> None:
    text = "FROM --platform=$P base:1 AS run  # comment\nRUN true\n"
    rewritten = rewrite_bases(text, {1: "h/base@sha256:" + "0" * 64})
    assert rewritten == (
        "FROM --platform=$P h/base@sha256:" + "0" * 64 + " AS run  # comment\nRUN true\n"
    )
