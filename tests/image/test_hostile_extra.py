"""More hostile images: each is read safely, quickly, or rejected with one ImageError.

Like test_hostile.py, every test checks through LeakGuard that nothing was
written outside the test's TMPDIR and that no work folder was left behind.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from leakguard import LeakGuard

from hardbase.errors import ImageError
from hardbase.image.reader import open_image
from imagebuild import (
    file,
    folder,
    symlink,
    write_docker_archive,
    write_oci_layout,
    write_rootfs_tar,
)


@pytest.fixture
def guard(work_tmp: Path) -> Iterator[LeakGuard]:
    yield LeakGuard.start(work_tmp)


def rejected(reference: str, **options: object) -> str:
    """Open ``reference``, expecting ImageError, and return its message."""
    with pytest.raises(ImageError) as caught:
        open_image(reference, **options)  # type: ignore[arg-type]
    return str(caught.value)


def test_deep_member_rejected(tmp_path: Path, guard: LeakGuard) -> None:
    # 100,000 nested folders: merging them took minutes, quadratic in the depth.
    tarball = write_rootfs_tar(tmp_path / "deep.tar", [file("d/" * 100_000 + "f", "x")])

    message = rejected(f"tar:{tarball}")

    assert "longer than Linux allows" in message
    assert len(message) < 400
    guard.check()


def test_path_below_path_max_read(tmp_path: Path, guard: LeakGuard) -> None:
    deep = "d/" * 2000 + "f"
    tarball = write_rootfs_tar(tmp_path / "deep.tar", [file(deep, "content")])

    with open_image(f"tar:{tarball}") as image:
        assert image.fs.read_text("/" + deep) == "content"
    guard.check()


def test_links_leading_past_path_max_rejected(tmp_path: Path, guard: LeakGuard) -> None:
    # Each short name is fine, but the link inside the deep folder doubles its depth.
    chain = "e/" * 1500
    layer = [
        folder(chain),
        symlink(chain + "p", chain.rstrip("/")),
        symlink("p", chain.rstrip("/")),
        file("p/p/f", "x"),
    ]
    tarball = write_rootfs_tar(tmp_path / "links.tar", layer)

    message = rejected(f"tar:{tarball}")

    assert "'p/p/f' lands at a path longer than Linux allows" in message
    guard.check()


def test_many_archive_images_listed_briefly(tmp_path: Path, guard: LeakGuard) -> None:
    tags = [f"app:{number}" for number in range(10_000)] + ["app:\x1b[2Jevil"]
    manifest = [{"Config": "none.json", "RepoTags": [tag], "Layers": []} for tag in tags]
    archive = tmp_path / "many.tar"
    write_docker_archive(archive, [[file("f", "x")]], manifest=manifest)

    message = rejected(f"docker-archive:{archive}")

    assert "contains 10001 images" in message
    assert "app:0; app:1;" in message
    assert "and 9991 more" in message
    assert "app:9999" not in message
    assert len(message) < 600
    guard.check()


def test_tag_escape_sequence_shown_escaped(tmp_path: Path, guard: LeakGuard) -> None:
    archive = tmp_path / "evil.tar"
    write_docker_archive(archive, [[file("f", "x")]], repo_tags=["app:\x1b[2Jevil"])

    message = rejected(f"docker-archive:{archive}:other:1")

    assert "\x1b" not in message
    assert "'app:\\x1b[2Jevil'" in message
    guard.check()


def test_many_layout_tags_listed_briefly(tmp_path: Path, guard: LeakGuard) -> None:
    root = tmp_path / "oci"
    write_oci_layout(root, [[file("f", "x")]])
    index = json.loads((root / "index.json").read_text())
    descriptor = index["manifests"][0]
    index["manifests"] = [
        {**descriptor, "annotations": {"org.opencontainers.image.ref.name": f"v{number}"}}
        for number in range(5000)
    ]
    (root / "index.json").write_text(json.dumps(index))

    message = rejected(f"oci:{root}:missing")

    assert "no image tagged 'missing'" in message
    assert "and 4990 more" in message
    assert len(message) < 600
    guard.check()


def test_fifo_path_rejected(tmp_path: Path, guard: LeakGuard) -> None:
    fifo_path = tmp_path / "image.tar"
    os.mkfifo(fifo_path)
    messages: list[str] = []
    # A regression blocks in open() waiting for a writer, so the check runs in a
    # daemon thread that the test can give up on.
    worker = threading.Thread(target=lambda: messages.append(rejected(str(fifo_path))), daemon=True)
    worker.start()
    worker.join(60)

    assert not worker.is_alive(), "reading the FIFO blocked"
    assert messages
    assert "not a regular file or folder" in messages[0]
    guard.check()
