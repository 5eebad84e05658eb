"""``db update`` against a local HTTP server, and a writer killed mid-way."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from hardbase.advisories.sources import FeedError
from hardbase.advisories.store import AdvisoryStore
from hardbase.advisories.update import SourceSpec, UpdateOptions, import_files, update
from hardbase.errors import NetworkError

REPO = Path(__file__).resolve().parents[2]
ASSETS = REPO / "tests" / "assets" / "advisories"
FAST = UpdateOptions(retries=2, backoff=0.01, timeout=10)


@dataclass
class FeedServer:
    """Files served on 127.0.0.1 with ETags, and failures to inject."""

    files: dict[str, bytes] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    requests: list[tuple[str, int]] = field(default_factory=list)
    base: str = ""

    def url(self, name: str) -> str:
        return f"{self.base}/{name}"


def _handler(state: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            name = self.path.lstrip("/")
            status = self._respond(name)
            state.requests.append((name, status))

        def _respond(self, name: str) -> int:
            if state.failures.get(name, 0) > 0:
                state.failures[name] -= 1
                self.send_response(500)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return 500
            body = state.files.get(name)
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return 404
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return 304
            self.send_response(200)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return 200

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def server() -> Iterator[FeedServer]:
    state = FeedServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def _specs(server: FeedServer) -> list[SourceSpec]:
    server.files["tracker.json"] = (ASSETS / "tracker.sample.json").read_bytes()
    server.files["main.json"] = (ASSETS / "alpine-v3.20-main.json").read_bytes()
    return [
        SourceSpec("debian-tracker", server.url("tracker.json")),
        SourceSpec("alpine-secdb/v3.20/main", server.url("main.json")),
    ]


def test_update_downloads_sources(server: FeedServer, tmp_path: Path) -> None:
    store = tmp_path / "advisories.db"

    results = update(_specs(server), store, FAST)

    assert [r.records for r in results] == [17, 12]
    with AdvisoryStore.open(store) as opened:
        sources = {s.name: s for s in opened.sources()}
    assert sources["debian-tracker"].url == server.url("tracker.json")
    assert sources["debian-tracker"].etag is not None


def test_update_sends_etag_and_keeps_records(server: FeedServer, tmp_path: Path) -> None:
    store = tmp_path / "advisories.db"
    specs = _specs(server)
    update(specs, store, FAST)

    results = update(specs, store, FAST)

    assert [r.not_modified for r in results] == [True, True]
    assert server.requests[-2:] == [("tracker.json", 304), ("main.json", 304)]
    with AdvisoryStore.open(store) as opened:
        assert opened.count() == 29


def test_update_retries_server_errors(server: FeedServer, tmp_path: Path) -> None:
    specs = _specs(server)
    server.failures["tracker.json"] = 2

    results = update(specs[:1], tmp_path / "advisories.db", FAST)

    assert results[0].records == 17
    assert [status for name, status in server.requests] == [500, 500, 200]


def test_update_gives_up_after_retries(server: FeedServer, tmp_path: Path) -> None:
    specs = _specs(server)
    server.failures["tracker.json"] = 10

    with pytest.raises(NetworkError, match=r"debian-tracker.*failed after 3 attempts"):
        update(specs[:1], tmp_path / "advisories.db", FAST)


def test_update_truncated_keeps_old_store(server: FeedServer, tmp_path: Path) -> None:
    store = tmp_path / "advisories.db"
    specs = _specs(server)
    update(specs, store, FAST)
    before = store.read_bytes()
    server.files["tracker.json"] = (ASSETS / "tracker.truncated.json").read_bytes()

    with pytest.raises(FeedError) as caught:
        update(specs, store, FAST)

    assert "debian-tracker" in str(caught.value)
    assert server.url("tracker.json") in str(caught.value)
    assert store.read_bytes() == before


def test_update_wrong_content_for_kind(server: FeedServer, tmp_path: Path) -> None:
    server.files["dsa"] = (ASSETS / "tracker.sample.json").read_bytes()
    from hardbase.advisories.sources import FeedKind

    spec = SourceSpec("debian-dsa", server.url("dsa"), FeedKind.DEBIAN_DSA)

    with pytest.raises(FeedError, match="expected debian-dsa content, found debian-tracker"):
        update([spec], tmp_path / "advisories.db", FAST)


def test_update_http_404_names_url(server: FeedServer, tmp_path: Path) -> None:
    spec = SourceSpec("debian-tracker", server.url("missing.json"))

    with pytest.raises(NetworkError, match=r"missing.json returned HTTP 404"):
        update([spec], tmp_path / "advisories.db", FAST)


@pytest.mark.slow
def test_killed_import_keeps_old_store(tmp_path: Path) -> None:
    store = tmp_path / "advisories.db"
    import_files([ASSETS / "alpine-v3.20-main.json"], store)
    before = store.read_bytes()
    tracker = tmp_path / "tracker.json"
    subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "gen_tracker.py"),
            str(tracker),
            "--packages=1000",
            "--cves=8000",
            "--entries=40000",
        ],
        check=True,
    )

    child = subprocess.Popen(
        [sys.executable, "-m", "hardbase", "db", "import", "--store", str(store), str(tracker)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and child.poll() is None:
        if list(tmp_path.glob(".advisories-partial-*")):
            break
        time.sleep(0.01)
    # The partial store exists from the copy of the old store until the final
    # rename. The import of this document takes several seconds after the copy,
    # so half a second later the writer is busy inserting records.
    time.sleep(0.5)
    assert child.poll() is None, "the import finished before it could be killed"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()

    assert store.read_bytes() == before
    with AdvisoryStore.open(store) as opened:
        assert [s.name for s in opened.sources()] == ["alpine-secdb/v3.20/main"]
    import_files([ASSETS / "osv-folder"], store)
    assert list(tmp_path.glob(".advisories-partial-*")) == []


def test_import_folder_of_secdb_files(tmp_path: Path) -> None:
    from conftest import shared_data

    folder = shared_data("alpine", "secdb", "v3.10")
    store = tmp_path / "advisories.db"

    results = import_files([folder], store)

    assert sorted(r.name for r in results) == [
        "alpine-secdb/v3.10/community",
        "alpine-secdb/v3.10/main",
    ]
    with AdvisoryStore.open(store) as opened:
        assert opened.releases("alpine") == {"3.10"}


def test_import_folder_of_osv_records_is_one_feed(tmp_path: Path) -> None:
    folder = ASSETS / "osv-folder"

    results = import_files([folder], tmp_path / "advisories.db")

    assert len(results) == 1


def test_sources_sorted_by_release_number(tmp_path: Path) -> None:
    from conftest import shared_data

    store = tmp_path / "advisories.db"
    import_files(
        [
            shared_data("alpine", "secdb", "v3.10", "main.yaml"),
            shared_data("alpine", "secdb", "v3.9", "main.yaml"),
        ],
        store,
    )

    with AdvisoryStore.open(store) as opened:
        names = [s.name for s in opened.sources()]

    assert names == ["alpine-secdb/v3.9/main", "alpine-secdb/v3.10/main"]
