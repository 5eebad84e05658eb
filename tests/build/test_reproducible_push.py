"""A second build of the same spec and packages gives the same digest, pushed intact."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from built_images import DEBS, EPOCH, EXAMPLES, BuiltImage, build_example, cached_example

pytestmark = [pytest.mark.slow, pytest.mark.network]


@dataclass(frozen=True)
class Rebuild:
    """The CLI's second build of the runtime example, pushed to a local registry."""

    manifest_digest: str
    packages: tuple[str, ...]
    pushed: str
    layout: Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A docker-registry on 127.0.0.1 with filesystem storage; yields HOST:PORT."""
    executable = shutil.which("docker-registry")
    if executable is None:
        pytest.skip("docker-registry is not installed (apt-get install docker-registry)")
    folder = tmp_path_factory.mktemp("registry")
    port = _free_port()
    config = folder / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: error\n"
        f"storage:\n  filesystem:\n    rootdirectory: {folder / 'storage'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    process = subprocess.Popen(
        [executable, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("docker-registry did not start")
                time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def rebuild(registry: str, tmp_path_factory: pytest.TempPathFactory) -> Rebuild:
    """Build the runtime example again through the CLI, with --push to the local registry."""
    folder = tmp_path_factory.mktemp("rebuild")
    layout = folder / "image"
    destination = f"docker://{registry}/hardbase/debian-runtime:test"
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from hardbase.cli import main; main()",
            "build",
            str(EXAMPLES / "debian-runtime.yaml"),
            "--output",
            f"oci:{layout}:test",
            "--source-date-epoch",
            str(EPOCH),
            "--package-cache",
            str(DEBS),
            "--push",
            destination,
            "--no-push-tls-verify",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    return Rebuild(document["manifest_digest"], tuple(document["packages"]), destination, layout)


def test_rebuild_gives_same_digest(rebuild: Rebuild, tmp_path: Path) -> None:
    first: BuiltImage = cached_example("debian-runtime")
    if first.packages != rebuild.packages:
        # The archive published new versions since the cached build: compare two fresh builds.
        first = build_example("debian-runtime", tmp_path)
        assert first.packages == rebuild.packages, "the archive changed during the test"
    assert rebuild.manifest_digest == first.manifest_digest


def test_pushed_image_has_same_digest(rebuild: Rebuild) -> None:
    skopeo = shutil.which("skopeo")
    assert skopeo is not None
    result = subprocess.run(
        [skopeo, "inspect", "--tls-verify=false", rebuild.pushed],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Digest"] == rebuild.manifest_digest
