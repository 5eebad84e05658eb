"""``hardbase db import`` and ``db status`` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "advisories"


def _hardbase(*args: str, store: Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "HARDBASE_STORE": str(store)}
    return subprocess.run(
        [sys.executable, "-m", "hardbase", *args],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=120,
    )


def test_import_then_status_json(tmp_path: Path) -> None:
    store = tmp_path / "advisories.db"

    imported = _hardbase("db", "import", str(ASSETS / "tracker.sample.json"), store=store)
    status = _hardbase("db", "status", "--format", "json", store=store)

    assert imported.returncode == 0, imported.stderr
    assert "debian-tracker: 17 advisories" in imported.stderr
    document = json.loads(status.stdout)
    assert document["advisories"] == 17
    assert [s["name"] for s in document["sources"]] == ["debian-tracker"]
    assert document["age_seconds"] >= 0


def test_import_unknown_file_one_line_error(tmp_path: Path) -> None:
    odd = tmp_path / "notes.txt"
    odd.write_text("nothing to see\n")

    result = _hardbase("db", "import", str(odd), store=tmp_path / "advisories.db")

    assert result.returncode == 2
    assert result.stderr.startswith(f"hardbase: error: {odd}: unknown feed format")
    assert "Traceback" not in result.stderr


def test_status_without_store(tmp_path: Path) -> None:
    result = _hardbase("db", "status", store=tmp_path / "absent.db")

    assert result.returncode == 2
    assert "not found" in result.stderr
    assert "hardbase db update" in result.stderr


def test_update_unknown_source_name(tmp_path: Path) -> None:
    result = _hardbase("db", "update", "--source", "nope", store=tmp_path / "advisories.db")

    assert result.returncode == 2
    assert "--source nope: unknown source" in result.stderr
