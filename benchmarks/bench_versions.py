"""Measure the speed of dpkg and apk version comparison.

Run ``python benchmarks/bench_versions.py`` with hardbase importable, either
installed or through ``PYTHONPATH=src``. It prints the time per comparison,
first with empty caches so that each version is parsed on first use, then with
warm caches.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from hardbase.versions import compare_apk, compare_dpkg
from hardbase.versions.apk import _tokenize
from hardbase.versions.dpkg import _parse

PAIRS = 100_000
DISTINCT_VERSIONS = 5_000  # roughly the installed packages of a large image, an estimate


def dpkg_version(rng: random.Random) -> str:
    upstream = ".".join(str(rng.randint(0, 40)) for _ in range(rng.randint(1, 4)))
    upstream += rng.choice(["", "", "~rc1", "+dfsg", "+git20230101"])
    revision = rng.choice(["1", "2", "3.1", "1+deb12u1", "2+b1", "1~bpo12+1"])
    epoch = rng.choice(["", "", "", "1:"])
    return f"{epoch}{upstream}-{revision}"


def apk_version(rng: random.Random) -> str:
    version = ".".join(str(rng.randint(0, 40)) for _ in range(rng.randint(1, 4)))
    version += rng.choice(["", "", "_rc1", "_p2", "_git20230101", "a"])
    return f"{version}-r{rng.randint(0, 5)}"


def measure(
    name: str,
    compare: Callable[[str, str], int],
    clear_cache: Callable[[], None],
    versions: list[str],
    rng: random.Random,
) -> None:
    pairs = [(rng.choice(versions), rng.choice(versions)) for _ in range(PAIRS)]
    clear_cache()
    for label in ("empty cache", "warm cache"):
        started = time.perf_counter()
        for a, b in pairs:
            compare(a, b)
        elapsed = time.perf_counter() - started
        print(f"{name} {label}: {elapsed * 1e6 / PAIRS:.2f} µs per comparison")


def main() -> None:
    rng = random.Random(1)
    dpkg_versions = [dpkg_version(rng) for _ in range(DISTINCT_VERSIONS)]
    apk_versions = [apk_version(rng) for _ in range(DISTINCT_VERSIONS)]
    measure("compare_dpkg", compare_dpkg, _parse.cache_clear, dpkg_versions, rng)
    measure("compare_apk", compare_apk, _tokenize.cache_clear, apk_versions, rng)


if __name__ == "__main__":
    main()
