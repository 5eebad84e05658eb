"""The HTML report in headless Chromium: charts, one column per image, a real screenshot."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

import pytest
from compare_fixtures import alpine_tar, runtime_image  # noqa: F401 - fixtures

from hardbase.compare import CompareOptions, compare_images
from hardbase.compare.model import Comparison
from hardbase.compare.render_html import render_html

pytestmark = [pytest.mark.slow, pytest.mark.network]

CHART_IDS = ("chart-size", "chart-packages", "chart-vulnerabilities", "chart-pending")
LABELS = ("alpine-3.20.3", "debian-12", "debian-runtime")


def chromium(*arguments: str) -> subprocess.CompletedProcess[bytes]:
    binary = shutil.which("chromium")
    if binary is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                *arguments,
            ],
            capture_output=True,
            check=False,
            timeout=120,
        )


@pytest.fixture(scope="module")
def comparison(
    alpine_tar: Path,  # noqa: F811
    bookworm_tar: Path,
    runtime_image,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Comparison:
    store = tmp_path_factory.mktemp("store") / "advisories.db"
    references = [f"tar:{alpine_tar}", f"tar:{bookworm_tar}", runtime_image.reference]
    return compare_images(references, CompareOptions(store=store))


@pytest.fixture(scope="module")
def report(comparison: Comparison, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("html") / "compare.html"
    path.write_text(render_html(comparison), encoding="utf-8")
    return path


def test_report_loads_nothing_external(report: Path) -> None:
    text = report.read_text()
    assert re.findall(r"(?:src|href)\s*=", text) == []
    assert "<script" not in text
    assert "@import" not in text


def test_dom_has_charts_and_columns(report: Path) -> None:
    result = chromium("--dump-dom", report.as_uri())
    dom = result.stdout.decode()
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    charts = dict(re.findall(r'<svg id="(chart-[a-z]+)"[^>]*>(.*?)</svg>', dom, re.S))
    assert sorted(charts) == sorted(CHART_IDS)
    assert charts["chart-size"].count("<rect") == 6
    assert charts["chart-packages"].count("<rect") == 3
    assert "no advisory store: run hardbase db update" in charts["chart-vulnerabilities"]
    for label in LABELS:
        assert f'<th data-image="{label}">{label}</th>' in dom, label
    assert dom.count("<tr data-row=") == 16


def test_screenshot_is_not_blank(report: Path, tmp_path: Path) -> None:
    png = tmp_path / "compare.png"
    result = chromium(f"--screenshot={png}", "--window-size=1400,1800", report.as_uri())
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1400, 1800)
    # A blank page compresses to a few kilobytes; text, tables and bars do not.
    assert len(data) > 50_000
