"""`hardbase compare` run as a user runs it: a subprocess on real root filesystems."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from compare_fixtures import ALPINE_320

from conftest import shared_data

HARDBASE = Path(sys.executable).parent / "hardbase"
ALPINE_311 = ("alpine", "alpine-minirootfs-3.11.13-x86_64.tar.gz")


def run(*arguments: str, store: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HARDBASE), "compare", "--store", str(store), *arguments],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


@pytest.fixture
def alpines() -> tuple[str, str]:
    return f"tar:{shared_data(*ALPINE_311)}", f"tar:{shared_data(*ALPINE_320)}"


@pytest.fixture
def no_store(tmp_path: Path) -> Path:
    return tmp_path / "missing.db"


def test_table_names_both_images(alpines: tuple[str, str], no_store: Path) -> None:
    result = run(*alpines, store=no_store)
    assert result.returncode == 0, result.stderr
    assert "alpine-3.11.13" in result.stdout
    assert "alpine-3.20.3" in result.stdout
    assert "Release support" in result.stdout


def test_markdown_has_one_column_per_image(alpines: tuple[str, str], no_store: Path) -> None:
    result = run(*alpines, "--format", "markdown", store=no_store)
    assert result.returncode == 0, result.stderr
    header = next(line for line in result.stdout.splitlines() if line.startswith("| |"))
    assert header == "| | alpine-3.11.13 | alpine-3.20.3 | verdict |"
    assert "| Packages only here |" in result.stdout


def test_json_support_dates(alpines: tuple[str, str], no_store: Path) -> None:
    result = run(*alpines, "--format", "json", store=no_store)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    support = next(row for row in document["rows"] if row["key"] == "support")
    assert support["data"]["end_of_support"] == ["2021-11-01", "2026-04-01"]
    assert support["best"] == ["alpine-3.20.3"]


def test_labels_name_columns(alpines: tuple[str, str], no_store: Path) -> None:
    result = run(*alpines, "--format", "json", "--label", "old", "--label", "new", store=no_store)
    assert result.returncode == 0, result.stderr
    labels = [image["label"] for image in json.loads(result.stdout)["images"]]
    assert labels == ["old", "new"]


def test_output_file_leaves_stdout_empty(
    alpines: tuple[str, str], no_store: Path, tmp_path: Path
) -> None:
    target = tmp_path / "report.md"
    result = run(*alpines, "--format", "markdown", "--output", str(target), store=no_store)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert target.read_text().startswith("## Base image comparison")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".report")] == []


def test_one_image_is_rejected(alpines: tuple[str, str], no_store: Path) -> None:
    result = run(alpines[0], store=no_store)
    assert result.returncode == 2
    assert "compare needs at least two images, got 1" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_image_is_one_line_error(
    alpines: tuple[str, str], no_store: Path, tmp_path: Path
) -> None:
    result = run(alpines[0], f"tar:{tmp_path / 'absent.tar'}", store=no_store)
    assert result.returncode == 2
    assert "absent.tar" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_too_many_labels_rejected(alpines: tuple[str, str], no_store: Path) -> None:
    labels = ["--label", "a", "--label", "b", "--label", "c"]
    result = run(*alpines, *labels, store=no_store)
    assert result.returncode == 2
    assert "3 labels for 2 images" in result.stderr
