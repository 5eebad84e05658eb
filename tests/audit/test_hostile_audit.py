"""Hostile manifests, compose files and Dockerfiles given to ``hardbase audit``.

Bad input gets one line on standard error that names the file, and exit
status 2, never a traceback, a hang or runaway memory. Names from the
audited files reach the terminal neither as control sequences nor as markup.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hardbase.audit.locate import ManifestSyntaxError, load_documents
from hardbase.audit.run import audit_paths
from hardbase.errors import InputError

POD_HEADER = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n"


def _cli(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hardbase", "audit", *arguments],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=cwd,
        env={**os.environ, "XDG_CACHE_HOME": str(cwd / "cache"), "COLUMNS": "100"},
    )


def _laughs(levels: int, indent: str) -> str:
    lines = [f"{indent}l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    for level in range(1, levels):
        aliases = ", ".join([f"*l{level - 1}"] * 9)
        lines.append(f"{indent}l{level}: &l{level} [{aliases}]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_in_labels_is_rejected(tmp_path: Path) -> None:
    # Labels are turned into strings and printed: 9**8 values would fill memory.
    manifest = tmp_path / "bomb.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: default}\n---\n"
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  labels:\n"
        + _laughs(9, "    ")
        + "spec:\n  containers:\n  - name: c\n    image: x\n"
    )

    result = _cli(str(manifest), "--format", "json", cwd=tmp_path)

    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f"{manifest}: anchors and aliases expand to" in lines[0]


def test_alias_bomb_load_raises_syntax_error() -> None:
    with pytest.raises(ManifestSyntaxError, match="aliases expand"):
        load_documents(_laughs(8, ""), "bomb.yaml")


def test_few_aliases_still_load() -> None:
    text = "base: &base {image: x, user: '1000'}\nweb: *base\nworker: *base\n"
    documents = load_documents(text, "anchors.yaml")
    assert documents[0].data["worker"] == {"image": "x", "user": "1000"}


def test_recursive_anchor_loads() -> None:
    documents = load_documents("a: &a [*a]\n", "recursive.yaml")
    assert documents[0].data["a"][0] is documents[0].data["a"]


def test_fifo_named_alone_is_rejected(tmp_path: Path) -> None:
    fifo = tmp_path / "pod.yaml"
    os.mkfifo(fifo)

    result = _cli(str(fifo), cwd=tmp_path)

    assert result.returncode == 2
    assert f"{fifo}: not a regular file" in result.stderr
    assert "Traceback" not in result.stderr


def test_device_named_alone_is_rejected(tmp_path: Path) -> None:
    result = _cli("/dev/zero", cwd=tmp_path)
    assert result.returncode == 2
    assert "/dev/zero: not a regular file" in result.stderr


def test_fifo_in_folder_is_skipped(tmp_path: Path) -> None:
    # Reading a FIFO blocks until a writer comes, so the walk must not open it.
    os.mkfifo(tmp_path / "pod.yaml")
    (tmp_path / "ns.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n")

    result = _cli(str(tmp_path), "--format", "json", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert '"path": "' + str(tmp_path / "ns.yaml") + '"' in result.stdout
    assert "pod.yaml" not in result.stdout


def test_symlink_loop_in_folder_ends(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "up").symlink_to("..")
    (tmp_path / "self").symlink_to(".")
    (tmp_path / "pod.yaml").write_text(POD_HEADER + "spec:\n  containers: [{name: c}]\n")

    report = audit_paths([tmp_path])

    assert [Path(f.path).name for f in report.files] == ["pod.yaml"]


def test_markup_in_names_does_not_crash_table(tmp_path: Path) -> None:
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(
        'apiVersion: v1\nkind: Pod\nmetadata: {name: "x[/foo]"}\nspec:\n'
        '  containers:\n  - name: "[link=http://127.0.0.1/]c"\n    image: x\n'
    )

    result = _cli(str(manifest), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "x[/foo]" in result.stdout
    assert "[link=http://127.0.0.1/]c" in result.stdout


def test_escape_sequences_in_names_are_shown_escaped(tmp_path: Path) -> None:
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(
        'apiVersion: v1\nkind: Pod\nmetadata: {name: "x\\e]0;owned\\a"}\nspec:\n'
        '  containers:\n  - name: "c\\e[2J"\n    image: x\n'
    )

    result = _cli(str(manifest), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout
    assert "\\x1b[2J" in result.stdout


def test_warning_with_escape_is_one_escaped_line(tmp_path: Path) -> None:
    # The file name reaches the warning; the path is long enough to wrap at 100 columns.
    manifest = tmp_path / ("p\x1b[2J" + "o" * 80 + ".yaml")
    manifest.write_text(
        POD_HEADER + "spec:\n  containers:\n  - name: c\n    image: x\n"
        '    securityContext:\n      capabilities: {add: "SYS_ADMIN"}\n'
    )

    result = _cli(str(tmp_path), "--format", "json", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("hardbase: warning: ")
    assert "capabilities.add: expected a list, found str" in lines[0]
    assert "\x1b" not in result.stderr
    assert "p\\x1b[2J" in lines[0]


def test_compose_named_file_without_services_is_rejected(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text("- a\n- b\n")

    result = _cli(str(compose), cwd=tmp_path)

    assert result.returncode == 2
    assert f"{compose}: not a compose file" in result.stderr


def test_compose_services_list_is_warned(tmp_path: Path) -> None:
    compose = tmp_path / "docker-compose.yml"
    compose.write_text("services: [web, db]\n")

    report = audit_paths([compose])

    assert report.findings == ()
    assert any("services: expected a mapping" in w for w in report.warnings)


def test_compose_without_services_key_is_warned(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text("version: '3'\nvolumes: {data: {}}\n")

    report = audit_paths([compose])

    assert any("services: expected a mapping, found nothing" in w for w in report.warnings)


def test_compose_odd_volume_types_are_warned_not_crashed(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text(
        "services:\n  web:\n    image: x\n    volumes:\n"
        "      - {type: bind, source: [1, 2], target: {a: b}}\n"
        "      - {type: 7}\n      - 42\n      - null\n"
        "      - {type: bind, source: /var/run/docker.sock, target: /s}\n"
        "    ports: ['80', 81, {published: x, target: []}, null]\n"
        "    cap_drop: [ALL, 7, null]\n  db: null\n"
    )

    report = audit_paths([compose])

    assert any(f.rule_id == "HB-RUN-011" for f in report.findings)


def test_non_utf8_manifest_is_rejected(tmp_path: Path) -> None:
    manifest = tmp_path / "pod.yaml"
    manifest.write_bytes(b"apiVersion: v1\nkind: \xff\xfe\n")
    with pytest.raises(InputError, match="not UTF-8 text"):
        audit_paths([manifest])


def test_impossible_date_names_line(tmp_path: Path) -> None:
    # PyYAML resolves 2024-13-45 as a timestamp and date() then fails.
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(POD_HEADER + "  annotations: {built: 2024-13-45}\n")

    result = _cli(str(manifest), cwd=tmp_path)

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f"{manifest}:5:" in lines[0]
    assert "invalid value 2024-13-45" in lines[0]


def test_huge_integer_in_yaml_is_rejected(tmp_path: Path) -> None:
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(POD_HEADER + "spec: {priority: " + "9" * 5000 + "}\n")

    result = _cli(str(manifest), cwd=tmp_path)

    assert result.returncode == 2
    assert "an integer of more than 4300 digits" in result.stderr
    assert "Traceback" not in result.stderr


def test_huge_integer_in_json_is_rejected(tmp_path: Path) -> None:
    manifest = tmp_path / "pod.json"
    manifest.write_text('{"apiVersion": "v1", "kind": "Pod", "x": ' + "9" * 5000 + "}")

    result = _cli(str(manifest), cwd=tmp_path)

    assert result.returncode == 2
    assert f"{manifest}: invalid JSON: an integer of more than 4300 digits" in result.stderr


def test_folder_without_inputs_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("nothing to audit here\n")

    result = subprocess.run(
        [sys.executable, "-m", "hardbase", "audit", str(tmp_path), "--fail-on", "high"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert result.returncode == 2
    assert "no Kubernetes manifest, compose file or Dockerfile found" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
