"""Measure how fast a Packages index is read: hardbase's line scanner against python-debian.

Run ``python benchmarks/bench_packages_index.py PACKAGES.xz`` with hardbase
importable (installed, or through ``PYTHONPATH=src``). Any Debian ``Packages``
index works, plain, xz or gzip (recognized by their magic bytes), including the
files under the cache's ``by-hash/`` folder. Bookworm's main amd64 index is the
reference case. It prints the seconds taken to decompress, to scan with
`hardbase.advisories.archive.parse_packages`, to load the parsed cache and to
iterate with ``debian.deb822.Packages.iter_paragraphs``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import lzma
import sys
import tempfile
import time
from pathlib import Path

from debian.deb822 import Packages

from hardbase.advisories.archive import ArchiveCache, parse_packages


def timed(label: str, start: float) -> float:
    elapsed = time.perf_counter() - start
    print(f"{label:<32} {elapsed:7.2f} s")
    return elapsed


def main(path: Path) -> None:
    raw = path.read_bytes()
    start = time.perf_counter()
    if raw.startswith(b"\xfd7zXZ"):
        data = lzma.decompress(raw)
    elif raw.startswith(b"\x1f\x8b"):
        data = gzip.decompress(raw)
    else:
        data = raw
    timed(f"decompress ({len(data) // 1_000_000} MB)", start)

    start = time.perf_counter()
    entries = parse_packages(data)
    timed(f"hardbase scanner ({len(entries)} entries)", start)

    with tempfile.TemporaryDirectory() as folder:
        cache = ArchiveCache(Path(folder))
        digest = hashlib.sha256(raw).hexdigest()
        cache.write_parsed(digest, entries)
        start = time.perf_counter()
        loaded = cache.read_parsed(digest)
        timed("parsed cache load", start)
        assert loaded == entries

    start = time.perf_counter()
    count = 0
    for paragraph in Packages.iter_paragraphs(io.BytesIO(data), use_apt_pkg=False):
        paragraph.get("Package")
        paragraph.get("Version")
        count += 1
    timed(f"python-debian ({count} paragraphs)", start)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: bench_packages_index.py PACKAGES[.xz|.gz]")
    main(Path(sys.argv[1]))
