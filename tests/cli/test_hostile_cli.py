"""Hostile images and options given to the command line, run as a user runs it.

Bad input gets one clear line on standard error and exit status 2, never a
traceback. Nothing from an image reaches the terminal as a control sequence or
as console markup. An output file is replaced whole or not at all.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imagebuild import (
    Member,
    file,
    image_config,
    layer_tar,
    sha256,
    write_oci_layout,
    write_rootfs_tar,
)

HARDBASE = [sys.executable, "-m", "hardbase"]
OFFLINE = ["--no-pending-updates", "--no-vulnerabilities"]
ESC = "\x1b"

OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_CODENAME=bookworm\n'
STATUS = "Package: base\nStatus: install ok installed\nVersion: 1\n"


def run(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "HARDBASE_STORE": str(cwd / "store" / "advisories.db"),
        "XDG_CACHE_HOME": str(cwd / "cache"),
    }
    return subprocess.run(
        [*HARDBASE, *arguments],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env=env,
        timeout=300,
    )


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """Return the single error line of a failed run, checking the exit status and form."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("hardbase: error: ")
    return lines[0]


@pytest.fixture
def small_image(tmp_path: Path) -> Path:
    members = [file("etc/os-release", OS_RELEASE), file("var/lib/dpkg/status", STATUS)]
    return write_rootfs_tar(tmp_path / "small.tar", members)


def test_table_escapes_control_sequences(tmp_path: Path) -> None:
    # A setuid file is reported by name; its name clears the screen and retitles the terminal.
    name = "usr/bin/evil\x1b[2J\x1b[H\x1b]0;pwned\x07\nname\r"
    members = [file("etc/os-release", OS_RELEASE), file(name, "x", mode=0o4755)]
    tarball = write_rootfs_tar(tmp_path / "evil.tar", members)

    result = run("scan", *OFFLINE, f"tar:{tarball}", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert ESC not in result.stdout
    assert "\r" not in result.stdout
    assert "evil\\x1b[2J\\x1b[H\\x1b]0;pwned" in result.stdout


def test_table_shows_markup_literally(tmp_path: Path) -> None:
    os_release = (
        'PRETTY_NAME="\x1b[2J[bold]Trusted[/bold] [link=http://127.0.0.1/]OS[/link]"\nID=debian\n'
    )
    tarball = write_rootfs_tar(tmp_path / "markup.tar", [file("etc/os-release", os_release)])

    result = run("scan", *OFFLINE, f"tar:{tarball}", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "\\x1b[2J[bold]Trusted[/bold] [link=http://127.0.0.1/]OS[/link]" in result.stdout
    assert ESC not in result.stdout


def test_warnings_escape_control_sequences(tmp_path: Path) -> None:
    status = "Package: evil\x1b[2J\nStatus: install installed\nVersion: 1\n"
    members = [file("etc/os-release", OS_RELEASE), file("var/lib/dpkg/status", status)]
    tarball = write_rootfs_tar(tmp_path / "status.tar", members)

    for command in (["scan", *OFFLINE, "--format", "json"], ["sbom"]):
        result = run(*command, f"tar:{tarball}", cwd=tmp_path)

        assert result.returncode == 0, result.stderr
        assert ESC not in result.stderr
        assert "package evil\\x1b[2J has an unreadable Status" in result.stderr


@pytest.mark.parametrize("command", ["scan", "sbom"])
def test_output_onto_folder_rejected(command: str, small_image: Path, tmp_path: Path) -> None:
    target = tmp_path / "reports"
    target.mkdir()
    options = OFFLINE if command == "scan" else []

    result = run(command, *options, "--output", str(target), f"tar:{small_image}", cwd=tmp_path)

    assert "not a regular file" in one_error_line(result)
    assert list(target.iterdir()) == []


def test_output_onto_fifo_kept(small_image: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    os.mkfifo(target)

    result = run("sbom", "--output", str(target), f"tar:{small_image}", cwd=tmp_path)

    assert "not a regular file" in one_error_line(result)
    assert stat.S_ISFIFO(target.lstat().st_mode)


def test_failed_read_keeps_output(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("previous report\n")
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(b"\x1f\x8b" + b"\0" * 64)

    result = run("sbom", "--output", str(target), f"tar:{broken}", cwd=tmp_path)

    assert "tar:" in one_error_line(result)
    assert target.read_text() == "previous report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.tar.gz", "report.json"]


@pytest.mark.skipif(shutil.which("skopeo") is None, reason="needs skopeo")
def test_sigterm_removes_work_folder(tmp_path: Path) -> None:
    # A registry on 127.0.0.1 that accepts connections and never sends a byte keeps
    # the scan waiting, with its work folder made, until the SIGTERM.
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        env = {**os.environ, "TMPDIR": str(scratch), "HARDBASE_STORE": str(tmp_path / "a.db")}
        process = subprocess.Popen(
            [*HARDBASE, "sbom", f"docker://127.0.0.1:{port}/base:1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            deadline = time.monotonic() + 120
            while not list(scratch.iterdir()) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert list(scratch.iterdir()), "the work folder never appeared"
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=120)
        finally:
            process.kill()
            process.wait()

    assert process.returncode == 143, stderr
    assert stderr.splitlines() == ["hardbase: terminated"]
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize("command", ["scan", "sbom"])
def test_max_unpacked_size_stops_bomb(command: str, tmp_path: Path) -> None:
    # The header promises 2 GiB, which gzip would inflate from a few megabytes of zeros.
    member = Member("zeros", data=b"\0" * 1024, declared_size=2 * 1024**3)
    bomb = write_rootfs_tar(tmp_path / "bomb.tar.gz", [member], compression="gzip")
    options = OFFLINE if command == "scan" else []

    result = run(command, *options, "--max-unpacked-size", "1", f"tar:{bomb}", cwd=tmp_path)

    line = one_error_line(result)
    assert "past the limit of 1073741824 bytes" in line
    assert "raise --max-unpacked-size" in line


@pytest.mark.parametrize("command", ["scan", "sbom"])
def test_bad_platform_rejected(command: str, small_image: Path, tmp_path: Path) -> None:
    options = OFFLINE if command == "scan" else []

    result = run(command, *options, "--platform", "../..", f"tar:{small_image}", cwd=tmp_path)

    assert "--platform '../..' is not OS/ARCH[/VARIANT]" in one_error_line(result)


#: Nesting depth far past the JSON and YAML parsers' recursion limits.
DEEP = 100_000
#: An integer longer than int()'s default limit of 4300 digits.
HUGE_INTEGER = "1" * 5000


@pytest.mark.parametrize(
    ("option", "name", "text", "expected"),
    [
        ("--vex", "deep.json", '{"statements": ' + "[" * DEEP + "]" * DEEP + "}", "too deep"),
        ("--vex", "big.json", '{"statements": [' + HUGE_INTEGER + "]}", "Exceeds the limit"),
        ("--ignore-file", "deep.yaml", "[" * DEEP + "]" * DEEP, "too deep"),
        (
            "--ignore-file",
            "big.yaml",
            f"- id: CVE-2024-1\n  reason: r\n  package: {HUGE_INTEGER}\n",
            "Exceeds the limit",
        ),
    ],
)
def test_hostile_triage_file_rejected(
    option: str, name: str, text: str, expected: str, small_image: Path, tmp_path: Path
) -> None:
    (tmp_path / name).write_text(text)

    result = run("scan", *OFFLINE, option, name, f"tar:{small_image}", cwd=tmp_path)

    line = one_error_line(result)
    assert line.startswith(f"hardbase: error: {name}")
    assert expected in line
    assert "set_int_max_str_digits" not in line


@pytest.mark.parametrize("number", ["1" * 5000, "\u00b2"])
def test_account_numbers_int_rejects_tolerated(number: str, tmp_path: Path) -> None:
    # str.isdigit() holds for both, but int() rejects them.
    members = [
        file("etc/os-release", OS_RELEASE),
        file("etc/passwd", f"root:x:0:0:root:/root:/bin/sh\napp:x:{number}:{number}::/:/bin/sh\n"),
        file("etc/login.defs", f"UID_MIN {number}\n"),
    ]
    config = image_config([sha256(layer_tar(members))], config={"User": number})
    write_oci_layout(tmp_path / "oci", [members], config=config)

    result = run("scan", *OFFLINE, "--format", "json", f"oci:{tmp_path / 'oci'}", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert '"id": "HB-USER' in result.stdout
