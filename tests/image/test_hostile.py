"""Hostile and broken images: each is read safely or rejected with one ImageError.

Every test checks, through LeakGuard, that nothing was written outside the
test's TMPDIR and that the work folder is gone once the image is closed or
rejected.
"""

from __future__ import annotations

import io
import json
import random
import tarfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from leakguard import LeakGuard

from hardbase.errors import ImageError
from hardbase.image.fs import FileType
from hardbase.image.reader import open_image
from imagebuild import (
    Layer,
    Member,
    compress,
    device,
    fifo,
    file,
    folder,
    hardlink,
    layer_tar,
    symlink,
    write_docker_archive,
    write_oci_layout,
    write_rootfs_tar,
)

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "image"


@pytest.fixture
def guard(work_tmp: Path) -> Iterator[LeakGuard]:
    yield LeakGuard.start(work_tmp)


def oci(tmp_path: Path, layers: Sequence[Layer], **options: object) -> str:
    """Write an OCI layout of ``layers`` and return its reference."""
    write_oci_layout(tmp_path / "oci", layers, **options)  # type: ignore[arg-type]
    return f"oci:{tmp_path / 'oci'}:latest"


def rejected(reference: str, **options: object) -> str:
    """Open ``reference``, expecting ImageError, and return its message."""
    with pytest.raises(ImageError) as caught:
        open_image(reference, **options)  # type: ignore[arg-type]
    return str(caught.value)


def test_dotdot_member_rejected(tmp_path: Path, guard: LeakGuard) -> None:
    reference = oci(tmp_path, [[file("../../../canary/pwned", "owned")]])
    message = rejected(reference)
    assert reference in message
    assert "layer 1" in message
    assert "'../../../canary/pwned'" in message
    assert "outside the image root" in message
    guard.check()


def test_dotdot_inside_root_folded(tmp_path: Path, guard: LeakGuard) -> None:
    with open_image(oci(tmp_path, [[file("etc/../etc/./x", "ok")]])) as image:
        assert image.fs.read_text("/etc/x") == "ok"
    guard.check()


def test_absolute_member_read_relative(tmp_path: Path, guard: LeakGuard) -> None:
    with open_image(oci(tmp_path, [[file("/etc/x", "inside")]])) as image:
        assert image.fs.read_text("/etc/x") == "inside"
        assert image.fs.listdir("/") == ["etc"]
    guard.check()


def test_symlink_out_of_root_stays_inside(tmp_path: Path, guard: LeakGuard) -> None:
    layer = [file("etc/shadow", "image shadow"), symlink("etc/passwd", "../../../../etc/shadow")]
    with open_image(oci(tmp_path, [layer])) as image:
        assert image.fs.resolve("/etc/passwd") == "/etc/shadow"
        assert image.fs.read_text("/etc/passwd") == "image shadow"
    guard.check()


def test_symlink_out_of_root_never_host(tmp_path: Path, guard: LeakGuard) -> None:
    layer = [folder("etc"), symlink("etc/passwd", "../../../../etc/hostname")]
    with open_image(oci(tmp_path, [layer])) as image:
        assert image.fs.stat("/etc/passwd") is None
        with pytest.raises(FileNotFoundError):
            image.fs.read_bytes("/etc/passwd")
    guard.check()


def test_symlink_loop_lookup_fails(tmp_path: Path, guard: LeakGuard) -> None:
    with open_image(oci(tmp_path, [[symlink("a", "b"), symlink("b", "a")]])) as image:
        assert image.fs.lstat("/a") is not None
        with pytest.raises(ImageError, match="too many levels of symbolic links"):
            image.fs.stat("/a")
    guard.check()


def test_member_below_symlink_loop_rejected(tmp_path: Path, guard: LeakGuard) -> None:
    reference = oci(tmp_path, [[symlink("a", "b"), symlink("b", "a")], [file("a/x", "x")]])
    message = rejected(reference)
    assert "layer 2" in message
    assert "'a/x'" in message
    assert "loop" in message
    guard.check()


def test_hardlink_outside_rejected(tmp_path: Path, guard: LeakGuard) -> None:
    reference = oci(tmp_path, [[hardlink("etc/x", "../../etc/passwd")]])
    message = rejected(reference)
    assert "layer 1" in message
    assert "'etc/x'" in message
    assert "'../../etc/passwd'" in message
    guard.check()


def test_hardlink_to_missing_rejected(tmp_path: Path, guard: LeakGuard) -> None:
    reference = oci(tmp_path, [[hardlink("etc/x", "etc/missing")]])
    message = rejected(reference)
    assert "'etc/x'" in message
    assert "'etc/missing'" in message
    guard.check()


def test_hardlink_shares_content(tmp_path: Path, guard: LeakGuard) -> None:
    layer = [file("usr/bin/perl5.36", "#!perl"), hardlink("usr/bin/perl", "usr/bin/perl5.36")]
    with open_image(oci(tmp_path, [layer])) as image:
        assert image.fs.read_text("/usr/bin/perl") == "#!perl"
    guard.check()


def test_device_nodes_recorded_not_created(tmp_path: Path, guard: LeakGuard) -> None:
    layer = [device("dev/null", "char", 1, 3), device("dev/sda", "block", 8, 0), fifo("run/pipe")]
    with open_image(oci(tmp_path, [layer, [file("etc/x", "x")]])) as image:
        null = image.fs.lstat("/dev/null")
        sda = image.fs.lstat("/dev/sda")
        pipe = image.fs.lstat("/run/pipe")
        assert null is not None and null.type is FileType.CHAR_DEVICE
        assert null.device == (1, 3)
        assert sda is not None and sda.type is FileType.BLOCK_DEVICE
        assert pipe is not None and pipe.type is FileType.FIFO
        assert image.work_dir is not None
        assert sorted(path.name for path in image.work_dir.iterdir()) == ["content.pack"]
        with pytest.raises(IsADirectoryError):
            image.fs.read_bytes("/dev/null")
    guard.check()


def test_huge_declared_size_rejected(tmp_path: Path, guard: LeakGuard) -> None:
    huge = Member("var/big", data=b"tiny", declared_size=10**12)
    message = rejected(oci(tmp_path, [[huge]]))
    assert "'var/big'" in message
    assert "1000000000000" in message
    guard.check()


@pytest.mark.parametrize("compression", [None, "gzip"])
def test_huge_declared_size_under_limit(
    compression: str | None, tmp_path: Path, guard: LeakGuard
) -> None:
    huge = Member("var/big", data=b"tiny", declared_size=10**12)
    reference = oci(tmp_path, [[huge]], compression=compression)
    message = rejected(reference, max_unpacked_bytes=10**13)
    assert "layer 1" in message
    assert "'var/big'" in message
    guard.check()


def test_huge_size_asset_rejected(guard: LeakGuard) -> None:
    message = rejected(f"tar:{ASSETS / 'rootfs-huge-size-header.tar'}")
    assert "'var/big'" in message
    guard.check()


def test_unpacked_limit_enforced(tmp_path: Path, guard: LeakGuard) -> None:
    layer = [file("small", "s"), file("opt/blob", b"\0" * 4096)]
    message = rejected(oci(tmp_path, [layer]), max_unpacked_bytes=1000)
    assert "'opt/blob'" in message
    assert "1000 bytes" in message
    guard.check()


def test_duplicate_members_last_wins(tmp_path: Path, guard: LeakGuard) -> None:
    layer = [file("etc/x", "first"), file("etc/x", "second")]
    with open_image(oci(tmp_path, [layer])) as image:
        assert image.fs.read_text("/etc/x") == "second"
        assert image.fs.listdir("/etc") == ["x"]
    guard.check()


def test_non_utf8_name_read(guard: LeakGuard) -> None:
    with open_image(f"tar:{ASSETS / 'rootfs-non-utf8-names.tar'}") as image:
        name = b"caf\xe9".decode("utf-8", "surrogateescape")
        assert image.fs.listdir("/etc") == [name]
        assert image.fs.read_text(f"/etc/{name}") == "latin-1 name"
    guard.check()


def test_non_utf8_name_shown_safely(tmp_path: Path, guard: LeakGuard) -> None:
    message = rejected(oci(tmp_path, [[file(b"../caf\xe9\x1b[2J", "x")]]))
    assert "\\udce9" in message
    assert "\\x1b" in message
    assert message.isprintable()
    message.encode("utf-8")
    guard.check()


def test_truncated_gzip_layer(tmp_path: Path, guard: LeakGuard) -> None:
    layer = [file("etc/a", "a" * 5000), file("etc/b", bytes(range(256)) * 400)]
    blob = compress(layer_tar(layer), "gzip")
    message = rejected(oci(tmp_path, [layer], layer_blobs=[blob[: len(blob) // 2]]))
    assert "layer 1" in message
    assert "truncated" in message or "decompress" in message
    guard.check()


def test_truncated_gzip_rootfs(tmp_path: Path, guard: LeakGuard) -> None:
    noise = random.Random(1).randbytes(100_000)
    tarball = write_rootfs_tar(tmp_path / "rootfs.tar.gz", [file("etc/a", noise)], "gzip")
    tarball.write_bytes(tarball.read_bytes()[:-200])
    message = rejected(f"tar:{tarball}")
    assert str(tarball) in message
    assert "decompress" in message
    guard.check()


def test_corrupt_plain_tar_header(tmp_path: Path, guard: LeakGuard) -> None:
    data = bytearray(layer_tar([file("etc/a", "a"), file("etc/b", "b")]))
    data[1024 + 148 : 1024 + 156] = b"9999999\0"  # the second header's checksum
    tarball = tmp_path / "rootfs.tar"
    tarball.write_bytes(bytes(data))
    message = rejected(f"tar:{tarball}")
    assert "invalid tar header" in message
    assert "'etc/a'" in message
    guard.check()


def test_blob_digest_mismatch(tmp_path: Path, guard: LeakGuard) -> None:
    image = write_oci_layout(tmp_path / "oci", [[file("etc/a", "original")]])
    blob = tmp_path / "oci" / "blobs" / "sha256" / image.layer_digests[0].removeprefix("sha256:")
    blob.write_bytes(compress(layer_tar([file("etc/a", "tampered")]), "gzip"))
    message = rejected(f"oci:{tmp_path / 'oci'}:latest")
    assert "layer 1" in message
    assert "does not match its digest" in message
    guard.check()


def test_diff_id_mismatch(tmp_path: Path, guard: LeakGuard) -> None:
    config = {
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"diff_ids": ["sha256:" + "0" * 64]},
    }
    message = rejected(oci(tmp_path, [[file("a", "a")]], config=config))
    assert "layer 1 has diff_id" in message
    guard.check()


def test_hostile_manifest_digest(tmp_path: Path, guard: LeakGuard) -> None:
    write_oci_layout(tmp_path / "oci", [[file("a", "a")]])
    index = json.loads((tmp_path / "oci" / "index.json").read_text())
    index["manifests"][0]["digest"] = "sha256:../../x"
    (tmp_path / "oci" / "index.json").write_text(json.dumps(index))
    message = rejected(f"oci:{tmp_path / 'oci'}:latest")
    assert "invalid digest 'sha256:../../x'" in message
    guard.check()


def test_index_json_not_json(tmp_path: Path, guard: LeakGuard) -> None:
    write_oci_layout(tmp_path / "oci", [[file("a", "a")]])
    (tmp_path / "oci" / "index.json").write_text("{not json")
    message = rejected(f"oci:{tmp_path / 'oci'}")
    assert "index.json" in message
    assert "invalid JSON" in message
    guard.check()


def test_docker_archive_missing_layer(tmp_path: Path, guard: LeakGuard) -> None:
    archive = tmp_path / "image.tar"
    write_docker_archive(archive, [[file("a", "a")]])
    manifest = json.loads(_member(archive, "manifest.json"))
    manifest[0]["Layers"] = ["gone/layer.tar"]
    write_docker_archive(archive, [[file("a", "a")]], manifest=manifest)
    message = rejected(f"docker-archive:{archive}")
    assert str(archive) in message
    assert "no member 'gone/layer.tar'" in message
    guard.check()


def test_docker_archive_missing_config(tmp_path: Path, guard: LeakGuard) -> None:
    archive = tmp_path / "image.tar"
    manifest = [{"Config": "missing.json", "RepoTags": ["a:1"], "Layers": []}]
    write_docker_archive(archive, [[file("a", "a")]], manifest=manifest)
    assert "no member 'missing.json'" in rejected(f"docker-archive:{archive}")
    guard.check()


@pytest.mark.parametrize("layout", ["legacy", "blobs"])
def test_docker_archive_layouts(layout: str, tmp_path: Path, guard: LeakGuard) -> None:
    archive = tmp_path / "image.tar"
    write_docker_archive(archive, [[file("etc/a", "1")], [file("etc/b", "2")]], layout=layout)
    with open_image(archive.as_posix()) as image:
        assert image.transport == "docker-archive"
        assert image.fs.read_text("/etc/a") == "1"
        assert image.fs.read_text("/etc/b") == "2"
        assert image.repo_tags == ("example/app:1.0",)
    guard.check()


def test_docker_archive_blob_tampered(tmp_path: Path, guard: LeakGuard) -> None:
    archive = tmp_path / "image.tar"
    write_docker_archive(archive, [[file("etc/a", "original")]], layout="blobs")
    data = archive.read_bytes()
    archive.write_bytes(data.replace(b"original", b"tampered"))
    message = rejected(f"docker-archive:{archive}")
    assert "layer 1" in message
    assert "does not match its digest" in message
    guard.check()


def test_docker_archive_link_loop(tmp_path: Path, guard: LeakGuard) -> None:
    archive = tmp_path / "image.tar"
    with tarfile.open(archive, "w") as out:
        for name, target in (("a/layer.tar", "../b/layer.tar"), ("b/layer.tar", "../a/layer.tar")):
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            out.addfile(info)
        config = json.dumps({"rootfs": {"diff_ids": []}}).encode()
        manifest = json.dumps([{"Config": "c.json", "Layers": ["a/layer.tar"]}]).encode()
        for name, data in (("c.json", config), ("manifest.json", manifest)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    message = rejected(f"docker-archive:{archive}")
    assert "'a/layer.tar'" in message
    assert "loop" in message
    guard.check()


def test_work_folder_removed_on_close(tmp_path: Path, guard: LeakGuard) -> None:
    image = open_image(oci(tmp_path, [[file("etc/a", "a")]]))
    assert image.work_dir is not None
    assert image.work_dir.parent == guard.scratch
    image.close()
    guard.check()


def _member(archive: Path, name: str) -> bytes:
    with tarfile.open(archive) as opened:
        handle = opened.extractfile(name)
        assert handle is not None
        return handle.read()
