"""A signed apt repository and a registry on 127.0.0.1, started and stopped by the tests."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import os
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

DEBIAN_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class AptRepository:
    """A one-suite apt repository (``SUITE main``) signed by a key made for the test."""

    def __init__(self, root: Path, suite: str, architecture: str) -> None:
        self.root = root
        self.suite = suite
        self.architecture = architecture
        self.gnupghome = root.parent / "gnupg"
        self.gnupghome.mkdir(mode=0o700)
        self.keyring = root.parent / "repository-key.gpg"
        self.combined_keyring = root.parent / "debian-and-test.gpg"
        self.published = 0
        self._generate_key()

    def _gpg(self, *arguments: str) -> bytes:
        environment = {**os.environ, "GNUPGHOME": str(self.gnupghome)}
        completed = subprocess.run(
            ["gpg", "--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase", "",
             *arguments],
            check=True, capture_output=True, env=environment,
        )  # fmt: skip
        return completed.stdout

    def _generate_key(self) -> None:
        self._gpg("--quick-gen-key", "hardbase test archive <archive@example.org>", "ed25519",
                  "sign", "never")  # fmt: skip
        self.keyring.write_bytes(self._gpg("--export"))
        # A binary keyring is a sequence of key packets, so two of them concatenate into one.
        self.combined_keyring.write_bytes(DEBIAN_KEYRING.read_bytes() + self.keyring.read_bytes())

    def close(self) -> None:
        """Stop the gpg-agent that key generation and signing started."""
        environment = {**os.environ, "GNUPGHOME": str(self.gnupghome)}
        subprocess.run(["gpgconf", "--kill", "all"], env=environment, check=False)

    def publish(self, name: str, version: str) -> None:
        """Build ``name`` at ``version`` with dpkg-deb and make it the suite's only package."""
        pool = self.root / "pool"
        pool.mkdir(parents=True, exist_ok=True)
        tree = self.root.parent / f"build-{name}-{version}"
        (tree / "DEBIAN").mkdir(parents=True)
        (tree / "usr/share" / name).mkdir(parents=True)
        (tree / "usr/share" / name / "version").write_text(version + "\n")
        (tree / "DEBIAN/control").write_text(
            f"Package: {name}\nVersion: {version}\nArchitecture: all\n"
            "Maintainer: hardbase tests <tests@example.org>\n"
            f"Description: demo package {version} for rebuild tests\n"
        )
        deb = pool / f"{name}_{version}_all.deb"
        subprocess.run(
            ["dpkg-deb", "--root-owner-group", "--build", str(tree), str(deb)],
            check=True, capture_output=True,
        )  # fmt: skip
        data = deb.read_bytes()
        stanza = (
            f"Package: {name}\nVersion: {version}\nArchitecture: all\n"
            "Maintainer: hardbase tests <tests@example.org>\n"
            f"Filename: pool/{deb.name}\nSize: {len(data)}\n"
            f"SHA256: {hashlib.sha256(data).hexdigest()}\n"
            f"Description: demo package {version} for rebuild tests\n"
        )
        self._write_release(stanza.encode())

    def _write_release(self, packages: bytes) -> None:
        suite_dir = self.root / "dists" / self.suite
        index_dir = suite_dir / "main" / f"binary-{self.architecture}"
        index_dir.mkdir(parents=True, exist_ok=True)
        files = {
            f"main/binary-{self.architecture}/Packages": packages,
            f"main/binary-{self.architecture}/Packages.gz": gzip.compress(packages, mtime=0),
        }
        for relative, content in files.items():
            (suite_dir / relative).write_bytes(content)
        # Each publication is dated later than the last, as a real archive's Release is.
        self.published += 1
        date = datetime.now(UTC) + timedelta(seconds=self.published)
        lines = [
            "Origin: hardbase-tests",
            f"Suite: {self.suite}",
            f"Codename: {self.suite}",
            f"Date: {date:%a, %d %b %Y %H:%M:%S} UTC",
            f"Valid-Until: {date + timedelta(days=7):%a, %d %b %Y %H:%M:%S} UTC",
            f"Architectures: {self.architecture}",
            "Components: main",
            "SHA256:",
        ]
        for relative, content in files.items():
            lines.append(f" {hashlib.sha256(content).hexdigest()} {len(content)} {relative}")
        release = ("\n".join(lines) + "\n").encode()
        (suite_dir / "Release").write_bytes(release)
        signed = self._gpg("--clearsign", "--output", "-", str(suite_dir / "Release"))
        (suite_dir / "InRelease").write_bytes(signed)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve_folder(folder: Path) -> Iterator[str]:
    """Serve ``folder`` over HTTP on 127.0.0.1; yield its base URL."""

    def handler(*arguments: object) -> _QuietHandler:
        return _QuietHandler(*arguments, directory=str(folder))  # type: ignore[arg-type]

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def registry(folder: Path) -> Iterator[str]:
    """Run Debian's docker-registry on 127.0.0.1 with storage in ``folder``; yield HOST:PORT."""
    port = free_port()
    config = folder / "registry.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: error\n"
        f"storage:\n  filesystem:\n    rootdirectory: {folder / 'data'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    log = (folder / "registry.log").open("wb")
    process = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("docker-registry did not start") from None
                time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()
