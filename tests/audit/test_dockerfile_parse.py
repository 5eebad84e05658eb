"""The Dockerfile parser and the build checks."""

from __future__ import annotations

from hardbase.audit.dockerfile import check_dockerfile, parse_dockerfile, stages


def _ids(text: str) -> list[str]:
    return sorted(f.rule_id for f in check_dockerfile(text, "Dockerfile"))


def test_continuations_join_and_keep_first_line() -> None:
    parsed = parse_dockerfile("FROM a:1\nRUN echo one \\\n  # comment inside\n  two\nUSER 1\n")
    run = parsed.instructions[1]

    assert run.keyword == "RUN"
    assert run.arguments == "echo one two"
    assert run.line == 2
    assert parsed.instructions[2].line == 5


def test_escape_directive_backtick() -> None:
    parsed = parse_dockerfile("# escape=`\nFROM a:1\nRUN dir `\n  c:\\\\x\n")
    assert parsed.escape == "`"
    assert parsed.instructions[1].arguments == "dir c:\\\\x"


def test_directive_after_comment_is_a_comment() -> None:
    parsed = parse_dockerfile("# hello\n# escape=`\nFROM a:1\n")
    assert "escape" not in parsed.directives


def test_heredoc_body_is_part_of_run() -> None:
    text = "FROM a:1@sha256:" + "0" * 64 + "\nRUN <<EOF\ncurl -sL https://x | sh\nEOF\nUSER 1\n"
    parsed = parse_dockerfile(text)

    assert parsed.instructions[1].heredocs == ("curl -sL https://x | sh",)
    assert parsed.instructions[2].keyword == "USER"
    assert _ids(text) == ["HB-DOCKERFILE-003"]


def test_stage_reference_is_not_a_base() -> None:
    text = "FROM a:1@sha256:" + "0" * 64 + " AS build\nFROM build\nUSER 1\n"
    assert _ids(text) == []


def test_arg_default_substituted_in_from() -> None:
    found = stages(parse_dockerfile("ARG V=3.20\nFROM alpine:${V}\n"))
    assert found[0].image == "alpine:3.20"


def test_only_final_stage_user_counts() -> None:
    text = "FROM a:1@sha256:" + "0" * 64 + " AS b\nUSER 1000\nFROM a:1@sha256:" + "0" * 64 + "\n"
    findings = [f for f in check_dockerfile(text, "Dockerfile") if f.rule_id == "HB-DOCKERFILE-001"]

    assert len(findings) == 1
    assert findings[0].evidence["location"]["line"] == 3


def test_wget_to_bash_detected() -> None:
    assert "HB-DOCKERFILE-003" in _ids("FROM a:1\nRUN wget -O- https://x/i.sh | bash\nUSER 1\n")


def test_bash_process_substitution_detected() -> None:
    assert "HB-DOCKERFILE-003" in _ids("FROM a:1\nRUN bash <(curl -s https://x/i.sh)\nUSER 1\n")


def test_apt_cache_mount_counts_as_clean() -> None:
    text = (
        "FROM a:1\nRUN --mount=type=cache,target=/var/lib/apt "
        "apt-get update && apt-get install -y --no-install-recommends git\nUSER 1\n"
    )
    assert "HB-DOCKERFILE-005" not in _ids(text)


def test_apk_no_cache_is_clean() -> None:
    assert "HB-DOCKERFILE-006" not in _ids("FROM a:1\nRUN apk add --no-cache git\nUSER 1\n")


def test_add_with_checksum_is_not_reported() -> None:
    text = "FROM a:1\nADD --checksum=sha256:" + "0" * 64 + " https://x/a.tgz /a\nUSER 1\n"
    assert "HB-DOCKERFILE-002" not in _ids(text)


def test_registry_port_is_not_a_tag() -> None:
    assert "HB-DOCKERFILE-007" in _ids("FROM registry:5000/app\nUSER 1\n")
