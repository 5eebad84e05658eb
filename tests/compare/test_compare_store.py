"""Vulnerability rows from a real advisory store: Alpine's secdb for 3.11, two Alpine images."""

from __future__ import annotations

import tarfile

import pytest
import yaml
from compare_fixtures import ALPINE_320

from conftest import shared_data
from hardbase.advisories.update import import_files
from hardbase.compare import CompareOptions, compare_images
from hardbase.compare.model import Comparison
from hardbase.versions import compare_apk

ALPINE_311 = ("alpine", "alpine-minirootfs-3.11.13-x86_64.tar.gz")
SECDB_311 = ("alpine", "secdb", "v3.11", "main.yaml")


@pytest.fixture(scope="module")
def comparison(tmp_path_factory: pytest.TempPathFactory) -> Comparison:
    store = tmp_path_factory.mktemp("store") / "advisories.db"
    import_files([shared_data(*SECDB_311)], store)
    references = [f"tar:{shared_data(*ALPINE_311)}", f"tar:{shared_data(*ALPINE_320)}"]
    return compare_images(references, CompareOptions(store=store))


def expected_open_fixes() -> int:
    """Count (vulnerability, origin) pairs whose secdb fix is newer than the installed version."""
    with tarfile.open(shared_data(*ALPINE_311)) as archive:
        member = archive.extractfile("./lib/apk/db/installed")
        assert member is not None
        database = member.read().decode()
    installed: dict[str, str] = {}
    for record in database.split("\n\n"):
        fields = dict(line.split(":", 1) for line in record.splitlines() if line[1:2] == ":")
        if "P" in fields:
            installed[fields.get("o", fields["P"])] = fields["V"]

    secdb = yaml.safe_load(shared_data(*SECDB_311).read_text())
    pairs = set()
    for entry in secdb["packages"]:
        origin = entry["pkg"]["name"]
        if origin not in installed:
            continue
        for fixed, ids in (entry["pkg"].get("secfixes") or {}).items():
            if compare_apk(installed[origin], str(fixed)) < 0:
                pairs.update((vid.split()[0], origin) for vid in ids)
    return len(pairs)


def test_covered_release_matches_secdb(comparison: Comparison) -> None:
    # 3.11.13 came out after this secdb copy, so every fix it lists is installed.
    row = comparison.row("vulnerabilities")
    expected = expected_open_fixes()
    assert row.data["totals"][0] == expected
    assert row.values[0] == str(expected)


def test_uncovered_release_says_so(comparison: Comparison) -> None:
    row = comparison.row("vulnerabilities")
    assert row.data["totals"][1] is None
    assert "no records for Alpine 3.20" in row.values[1]


def test_vulnerability_verdict_needs_two_checked(comparison: Comparison) -> None:
    row = comparison.row("vulnerabilities")
    assert row.best == ()
    assert row.verdict.startswith("all checked images have")
