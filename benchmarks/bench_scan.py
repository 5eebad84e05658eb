"""Measure a vulnerability scan of a 100-package image against a full-size advisory store.

Builds the store from gen_tracker.py's full-size document (unless ``--store`` names
one), writes a root filesystem folder whose dpkg database holds 100 packages built
from sources that the document covers, then times, with the store warm (one run
first to fill the page cache):

- matching alone: opening the store, looking up the 100 packages, matching and triage;
- the whole scan in-process: reading the image, packages, hardening checks and
  matching (the archive check is off: it needs the network and is timed elsewhere);
- ``hardbase scan`` as a command, which adds interpreter start-up and imports.

Usage: python benchmarks/bench_scan.py [--store FILE] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from hardbase.advisories.store import AdvisoryStore
from hardbase.image.reader import open_image
from hardbase.packages import read_inventory
from hardbase.scan.match import match_vulnerabilities
from hardbase.scan.run import ScanOptions, scan_image
from hardbase.scan.triage import TriageOptions, apply_triage

HERE = Path(__file__).resolve().parent
TARGET_SECONDS = 0.3
PACKAGES = 100

OS_RELEASE = """PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
"""


def write_image(root: Path) -> None:
    """Write a root filesystem with os-release and a dpkg status of PACKAGES packages.

    Each binary comes from one of the generated source packages at version
    ``0.1-1``, below every generated fixed version, so that matching does
    its full work: most advisories end as findings, the rest are decided
    not affected.
    """
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "os-release").write_text(OS_RELEASE)
    status = root / "var" / "lib" / "dpkg"
    status.mkdir(parents=True)
    stanzas = []
    for index in range(PACKAGES):
        source = f"package{index * 7:05d}"
        stanzas.append(
            f"Package: lib{source}-1\nStatus: install ok installed\nPriority: optional\n"
            f"Architecture: amd64\nSource: {source}\nVersion: 0.1-1\n"
            f"Description: generated package {index}\n"
        )
    (status / "status").write_text("\n".join(stanzas))


def timed(function: Callable[[], object], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, help="existing store built from a full-size document")
    parser.add_argument("--runs", type=int, default=5)
    arguments = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="hardbase-bench-") as scratch:
        folder = Path(scratch)
        store = arguments.store
        if store is None:
            tracker = folder / "tracker.json"
            store = folder / "advisories.db"
            subprocess.run([sys.executable, str(HERE / "gen_tracker.py"), str(tracker)], check=True)
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "hardbase",
                    "db",
                    "import",
                    "--store",
                    str(store),
                    str(tracker),
                ],
                check=True,
            )
            tracker.unlink()
        root = folder / "rootfs"
        write_image(root)
        reference = f"dir:{root}"

        with open_image(reference) as image:
            inventory = read_inventory(image.fs)

        def match_only() -> int:
            with AdvisoryStore.open(store) as opened:
                result = match_vulnerabilities(inventory, opened)
            return len(apply_triage(result.findings, TriageOptions()).shown)

        options = ScanOptions(pending_updates=False, store=store)
        findings = match_only()
        scan_image(reference, options)

        matching = timed(match_only, arguments.runs)
        in_process = timed(lambda: scan_image(reference, options), arguments.runs)
        command = [
            sys.executable,
            "-m",
            "hardbase",
            "scan",
            reference,
            "--format",
            "json",
            "--no-pending-updates",
            "--store",
            str(store),
        ]
        environment = {**os.environ, "HARDBASE_STORE": str(store)}
        cli = timed(
            lambda: subprocess.run(command, check=True, capture_output=True, env=environment),
            arguments.runs,
        )

    print(f"{len(inventory.packages)} packages, {findings} vulnerability findings shown")
    for name, times in (
        ("matching", matching),
        ("scan in-process", in_process),
        ("hardbase scan", cli),
    ):
        print(
            f"{name}: median {statistics.median(times):.3f} s, "
            f"min {min(times):.3f} s, max {max(times):.3f} s (target {TARGET_SECONDS} s)"
        )
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    return 0 if statistics.median(in_process) <= TARGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
