"""Measure ``hardbase db import`` of a full-size synthetic tracker document: time and peak memory.

Generates the document with gen_tracker.py (unless one is given) and imports it into
a new store in a child process. Prints the import's wall time, CPU time, peak
resident set size and the record count. Memory is the ``ru_maxrss`` that ``os.wait4``
returns for the import alone, so the generator's memory is not counted.

Usage: python benchmarks/bench_db.py [--tracker FILE] [--keep]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TIME_TARGET_SECONDS = 30.0
MEMORY_TARGET_BYTES = 1 << 30


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracker", type=Path, help="existing tracker JSON to import")
    arguments = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="hardbase-bench-") as scratch:
        folder = Path(scratch)
        tracker = arguments.tracker
        if tracker is None:
            tracker = folder / "tracker.json"
            subprocess.run([sys.executable, str(HERE / "gen_tracker.py"), str(tracker)], check=True)
        store = folder / "advisories.db"

        start = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "hardbase", "db", "import", "--store", str(store), str(tracker)]
        )
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            print(f"db import failed with status {child.returncode}", file=sys.stderr)
            return 2
        # ru_maxrss is in kilobytes on Linux.
        peak = usage.ru_maxrss * 1024
        cpu = usage.ru_utime + usage.ru_stime

        with sqlite3.connect(store) as connection:
            records = connection.execute("SELECT COUNT(*) FROM advisories").fetchone()[0]
        size = tracker.stat().st_size
        print(f"document: {size / 1e6:.1f} MB, {records} advisories stored")
        print(
            f"db import: {elapsed:.1f} s wall, {cpu:.1f} s CPU (target {TIME_TARGET_SECONDS:.0f} s)"
        )
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")
        print(f"peak memory: {peak / 2**20:.0f} MiB (target {MEMORY_TARGET_BYTES / 2**20:.0f} MiB)")
        ok = elapsed <= TIME_TARGET_SECONDS and peak <= MEMORY_TARGET_BYTES
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
