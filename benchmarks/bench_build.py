"""Benchmark ``hardbase build`` on the example specs beside plain mmdebstrap runs.

For each example this records the image's size (layer tar and gzip blob),
its package count and the build's wall time. Beside it stands the wall time
of a plain mmdebstrap run that installs the same packages with the same
variant and package cache, without hardening or image writing. A plain ``--variant=minbase``
run of the same suite is measured for reference. Both kinds of run reuse a
warm .deb cache, so download speed is left out of the comparison.

Run as root on a machine that reaches the Debian archive:

    .venv/bin/python benchmarks/bench_build.py [--cache DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hardbase.build import BuildOptions, OutputTarget, build, load_spec
from hardbase.build.builder import bootstrap_run, platform_for
from hardbase.build.prune import read_status
from hardbase.tools import mmdebstrap

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = ("debian-runtime", "debian-base", "php-cli")
EPOCH = 1_700_000_000


def _tree_bytes(root: Path) -> int:
    total = 0
    for folder, _, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            if not path.is_symlink():
                total += path.lstat().st_size
    return total


def _plain_run(name: str, cache: Path, work: Path) -> dict[str, Any]:
    """Time mmdebstrap alone with the example's packages and the same package cache."""
    spec = load_spec(REPO / "examples" / f"{name}.yaml")
    architecture, _ = platform_for(spec.architecture)
    target = work / f"plain-{name}"
    run = bootstrap_run(
        spec,
        target,
        architecture,
        BuildOptions(OutputTarget("oci", work / "x", "x"), package_cache=cache),
    )
    started = time.monotonic()
    mmdebstrap.bootstrap(run, source=name)
    seconds = time.monotonic() - started
    _, installed = read_status(target)
    figures = {"seconds": seconds, "packages": len(installed), "file_bytes": _tree_bytes(target)}
    shutil.rmtree(target)
    return figures


def _minbase(suite: str, work: Path) -> dict[str, Any]:
    target = work / "minbase"
    started = time.monotonic()
    subprocess.run(
        [
            "mmdebstrap",
            "--quiet",
            "--variant=minbase",
            "--mode=root",
            "--format=directory",
            suite,
            str(target),
        ],
        check=True,
    )
    seconds = time.monotonic() - started
    _, installed = read_status(target)
    figures = {"seconds": seconds, "packages": len(installed), "file_bytes": _tree_bytes(target)}
    shutil.rmtree(target)
    return figures


def _hardbase_run(name: str, cache: Path, work: Path) -> dict[str, Any]:
    spec_path = REPO / "examples" / f"{name}.yaml"
    spec = load_spec(spec_path)
    result = build(
        spec,
        BuildOptions(
            output=OutputTarget("oci", work / f"image-{name}", "bench"),
            source_date_epoch=EPOCH,
            package_cache=cache,
            sbom=False,
        ),
        source=str(spec_path),
    )
    return {
        "seconds": result.total_seconds,
        "bootstrap_seconds": result.bootstrap_seconds,
        "packages": len(result.packages),
        "layer_bytes": result.uncompressed_size,
        "gzip_bytes": result.compressed_size,
        "manifest_digest": result.manifest_digest,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cache", type=Path, default=Path.home() / ".cache" / "hardbase-tests" / "debs"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    arguments = parser.parse_args()
    arguments.cache.mkdir(parents=True, exist_ok=True)
    figures: dict[str, Any] = {"examples": {}}
    with tempfile.TemporaryDirectory(prefix="hardbase-bench-") as scratch:
        work = Path(scratch)
        for name in EXAMPLES:
            # A first build warms the package cache so neither timed run downloads.
            _plain_run(name, arguments.cache, work)
            plain = _plain_run(name, arguments.cache, work)
            ours = _hardbase_run(name, arguments.cache, work)
            ours["plain_mmdebstrap"] = plain
            ours["time_ratio"] = ours["seconds"] / plain["seconds"]
            figures["examples"][name] = ours
            print(json.dumps({name: ours}), flush=True)
        figures["minbase"] = _minbase("bookworm", work)
        print(json.dumps({"minbase": figures["minbase"]}), flush=True)
    if arguments.json:
        arguments.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
