"""Hostile build specs: values that would corrupt /etc/passwd, hang the reader or crash it.

Every case must stop at the spec, before mmdebstrap runs, with one SpecError
that names the file and the key.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hardbase.build.spec import SpecError, load_spec

REJECTED = {
    "home with a newline and colon": (
        'users: [{name: app, uid: 1000, home: "/x:/bin/sh\\nevil::0:0::/:/bin/sh"}]',
        "users.0.home",
    ),
    "home with a colon": ('users: [{name: app, uid: 1000, home: "/x:0"}]', "users.0.home"),
    "home at the root folder": ('users: [{name: app, uid: 1000, home: "/"}]', "users.0.home"),
    "shell with a newline": (
        'users: [{name: app, uid: 1000, shell: "/bin/sh\\nevil::0:0::/:/bin/sh"}]',
        "users.0.shell",
    ),
    "user name ending in a newline": ('users: [{name: "app\\n", uid: 1000}]', "users.0.name"),
    "group name ending in a newline": ('groups: [{name: "grp\\n", gid: 5}]', "groups.0.name"),
    "env name ending in a newline": ('env: {"PATH\\n": x}', "env"),
    "package ending in a newline": ('packages: ["curl\\n"]', "packages"),
    "suite ending in a newline": ('distribution: {suite: "bookworm\\n"}', "distribution.suite"),
    "mirror ending in a newline": (
        'distribution: {mirror: "http://127.0.0.1:9/debian\\n"}',
        "distribution.mirror",
    ),
    "workdir with a newline": ('workdir: "/w\\n"', "workdir"),
    "path with a newline": ('paths: [{path: "/data\\n/etc/x"}]', "paths.0.path"),
    "owner not numeric": ('paths: [{path: /data, owner: "x:y"}]', "paths.0.owner"),
    "owner with three fields": ('paths: [{path: /data, owner: "1:2:3"}]', "paths.0.owner"),
    "owner out of range": (
        'paths: [{path: /data, owner: "99999999999:0"}]',
        "paths.0.owner",
    ),
}


@pytest.mark.parametrize("body, key", REJECTED.values(), ids=list(REJECTED))
def test_hostile_value_is_rejected(tmp_path: Path, body: str, key: str) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"name: x\n{body}\n")

    with pytest.raises(SpecError) as caught:
        load_spec(spec)

    assert str(spec) in str(caught.value)
    assert key in str(caught.value)


def test_impossible_date_is_spec_error(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("name: x\ndescription: 2024-13-45\n")
    with pytest.raises(SpecError, match=r"month must be in 1\.\.12"):
        load_spec(spec)


def test_huge_integer_is_spec_error(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("name: x\nusers: [{name: a, uid: " + "9" * 5000 + "}]\n")
    with pytest.raises(SpecError, match="invalid YAML value"):
        load_spec(spec)


def test_fifo_spec_is_rejected(tmp_path: Path) -> None:
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)
    with pytest.raises(SpecError, match="not a regular file"):
        load_spec(fifo)


def test_device_spec_is_rejected() -> None:
    # Reading /dev/zero whole never ends; the size limit needs a regular file.
    with pytest.raises(SpecError, match="not a regular file"):
        load_spec(Path("/dev/zero"))


def test_cli_injection_stops_before_build(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        'name: x\nusers: [{name: app, uid: 1000, home: "/x:/bin/sh\\nevil::0:0::/:/bin/sh"}]\n'
    )
    output = tmp_path / "image"

    result = subprocess.run(
        [sys.executable, "-m", "hardbase", "build", str(spec), "--output", f"oci:{output}"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")},
    )

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "users.0.home" in lines[0]
    assert not output.exists()
