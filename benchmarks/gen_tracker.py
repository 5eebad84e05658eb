"""Write a synthetic Debian security tracker JSON document of realistic size and field mix.

The default size matches the real export (about 40,000 CVEs over 5,000 source
packages and 300,000 package-CVE entries): each entry covers several releases
(``sid`` always), some are fixed with ``fixed_version`` "0" (never affected), some
are open with no-DSA notes and reasons, unimportant or end-of-life urgencies, and
some are undetermined. The output is deterministic for a given seed.

Usage: python benchmarks/gen_tracker.py OUT.json [--packages N] [--cves N] [--entries N]
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

RELEASES = ("bullseye", "bookworm", "trixie", "sid")
URGENCIES = ("not yet assigned", "unimportant", "low", "medium", "high", "low**", "medium**")
NODSA_NOTES = ("Minor issue", "Minor issue, revisit when fixed upstream", "Intrusive to backport")
WORDS = (
    "buffer overflow",
    "in the parser",
    "allows remote attackers",
    "to cause a denial of service",
    "via a crafted file",
    "use-after-free",
    "integer overflow",
    "out-of-bounds read",
    "NULL pointer dereference",
    "or possibly execute arbitrary code",
)


def release_entry(rng: random.Random, release: str, version: str) -> dict[str, object]:
    """Return one release's entry with the field mix of the real tracker."""
    roll = rng.random()
    repositories = {release: version}
    if release != "sid" and rng.random() < 0.4:
        repositories[f"{release}-security"] = version + "+deb1u1"
    if roll < 0.55:
        fixed = "0" if rng.random() < 0.15 else version
        return {
            "status": "resolved",
            "repositories": repositories,
            "fixed_version": fixed,
            "urgency": rng.choice(URGENCIES),
        }
    if roll < 0.95:
        entry: dict[str, object] = {
            "status": "open",
            "repositories": repositories,
            "urgency": rng.choice(URGENCIES[:2]) if rng.random() < 0.7 else "end-of-life",
        }
        if release != "sid" and rng.random() < 0.6:
            entry["nodsa"] = rng.choice(NODSA_NOTES)
            entry["nodsa_reason"] = rng.choice(("ignored", "postponed"))
        return entry
    return {"status": "undetermined", "repositories": repositories, "urgency": "not yet assigned"}


def generate(packages: int, cves: int, entries: int, seed: int) -> dict[str, dict[str, object]]:
    """Return the document as nested dicts."""
    rng = random.Random(seed)
    cve_ids = [f"CVE-{2000 + index % 25}-{10000 + index}" for index in range(cves)]
    descriptions = {
        cve: " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 10))) for cve in cve_ids
    }
    document: dict[str, dict[str, object]] = {}
    per_package = max(1, entries // packages)
    for index in range(packages):
        name = f"package{index:05d}"
        version = (
            f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}-{rng.randint(1, 5)}"
        )
        chosen = rng.sample(cve_ids, k=min(len(cve_ids), per_package))
        issues: dict[str, object] = {}
        for cve in chosen:
            releases = [r for r in RELEASES if r == "sid" or rng.random() < 0.7]
            issues[cve] = {
                "description": descriptions[cve],
                "scope": rng.choice(("local", "remote")),
                "releases": {r: release_entry(rng, r, version) for r in releases},
            }
            if rng.random() < 0.3:
                issues[cve]["debianbug"] = rng.randint(100000, 1100000)  # type: ignore[index]
        document[name] = issues
    return document


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path)
    parser.add_argument("--packages", type=int, default=5000)
    parser.add_argument("--cves", type=int, default=40000)
    parser.add_argument("--entries", type=int, default=300000)
    parser.add_argument("--seed", type=int, default=1)
    arguments = parser.parse_args()
    document = generate(arguments.packages, arguments.cves, arguments.entries, arguments.seed)
    partial = arguments.output.with_suffix(".partial")
    with partial.open("w", encoding="utf-8") as handle:
        json.dump(document, handle, separators=(",", ":"))
    partial.replace(arguments.output)


if __name__ == "__main__":
    main()
