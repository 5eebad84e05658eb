"""Layer merging on small synthetic multi-layer images: whiteouts, replacements, linked parents."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hardbase.image.fs import FileType
from hardbase.image.reader import open_image
from imagebuild import Layer, file, folder, opaque, symlink, whiteout, write_oci_layout


def merged(tmp_path: Path, layers: Sequence[Layer]) -> dict[str, str | None]:
    """Return each path of the merged image mapped to its text content (None for non-files)."""
    write_oci_layout(tmp_path / "oci", layers)
    with open_image(f"oci:{tmp_path / 'oci'}:latest") as image:
        return {
            entry.path: image.fs.read_text(entry.path) if entry.is_file else None
            for entry in image.fs.walk()
        }


def test_whiteout_deletes_lower_file(tmp_path: Path) -> None:
    tree = merged(tmp_path, [[file("etc/a", "A"), file("etc/b", "B")], [whiteout("etc/a")]])
    assert "/etc/a" not in tree
    assert tree["/etc/b"] == "B"


def test_whiteout_deletes_lower_folder_tree(tmp_path: Path) -> None:
    lower = [folder("opt/app"), file("opt/app/bin", "1"), file("opt/keep", "k")]
    tree = merged(tmp_path, [lower, [whiteout("opt/app")]])
    assert "/opt/app" not in tree
    assert "/opt/app/bin" not in tree
    assert tree["/opt/keep"] == "k"


def test_whiteout_marker_not_listed(tmp_path: Path) -> None:
    tree = merged(tmp_path, [[file("etc/a", "A")], [whiteout("etc/a"), file("etc/c", "C")]])
    assert sorted(tree) == ["/etc", "/etc/c"]


def test_opaque_folder_hides_lower_content(tmp_path: Path) -> None:
    lower = [folder("data"), file("data/old1", "1"), folder("data/sub"), file("data/sub/old2", "2")]
    upper = [folder("data"), opaque("data"), file("data/new", "n")]
    tree = merged(tmp_path, [lower, upper])
    assert sorted(path for path in tree if path.startswith("/data")) == ["/data", "/data/new"]


def test_opaque_keeps_same_layer_files(tmp_path: Path) -> None:
    upper = [file("data/new", "n"), opaque("data"), file("data/after", "a")]
    tree = merged(tmp_path, [[file("data/old", "o")], upper])
    assert tree["/data/new"] == "n"
    assert tree["/data/after"] == "a"
    assert "/data/old" not in tree


def test_whiteout_spares_same_layer_file(tmp_path: Path) -> None:
    # The whiteout comes after the file in the tar, yet hides only the lower layer's copy.
    upper = [file("etc/conf", "new"), whiteout("etc/conf")]
    tree = merged(tmp_path, [[file("etc/conf", "old")], upper])
    assert tree["/etc/conf"] == "new"


def test_whiteout_then_readd_in_upper_layer(tmp_path: Path) -> None:
    layers = [[file("etc/conf", "old")], [whiteout("etc/conf")], [file("etc/conf", "again")]]
    tree = merged(tmp_path, layers)
    assert tree["/etc/conf"] == "again"


def test_file_replaced_by_folder(tmp_path: Path) -> None:
    tree = merged(tmp_path, [[file("srv/x", "file")], [folder("srv/x"), file("srv/x/inner", "i")]])
    assert tree["/srv/x"] is None
    assert tree["/srv/x/inner"] == "i"


def test_folder_replaced_by_file(tmp_path: Path) -> None:
    lower = [folder("srv/x"), file("srv/x/inner", "i")]
    tree = merged(tmp_path, [lower, [file("srv/x", "now a file")]])
    assert tree["/srv/x"] == "now a file"
    assert "/srv/x/inner" not in tree


def test_folder_merges_with_lower_folder(tmp_path: Path) -> None:
    tree = merged(tmp_path, [[file("etc/a", "A")], [folder("etc"), file("etc/b", "B")]])
    assert tree["/etc/a"] == "A"
    assert tree["/etc/b"] == "B"


def test_symlinked_parent_folder(tmp_path: Path) -> None:
    lower = [folder("usr"), folder("usr/lib"), symlink("lib", "usr/lib")]
    tree = merged(tmp_path, [lower, [file("lib/x", "through the link")]])
    assert tree["/usr/lib/x"] == "through the link"
    assert "/lib/x" not in tree
    assert tree["/lib"] is None


def test_symlinked_parent_absolute_target(tmp_path: Path) -> None:
    lower = [folder("usr/lib64"), symlink("lib64", "/usr/lib64")]
    tree = merged(tmp_path, [lower, [file("lib64/ld.so", "loader")]])
    assert tree["/usr/lib64/ld.so"] == "loader"


def test_symlinked_parent_whiteout(tmp_path: Path) -> None:
    lower = [folder("usr/lib"), symlink("lib", "usr/lib"), file("usr/lib/x", "x")]
    tree = merged(tmp_path, [lower, [whiteout("lib/x")]])
    assert "/usr/lib/x" not in tree
    assert "/lib" in tree


def test_link_replaced_by_folder(tmp_path: Path) -> None:
    # As containerd does: a folder member replaces a link, rather than writing through it.
    lower = [folder("usr/lib"), symlink("lib", "usr/lib")]
    tree = merged(tmp_path, [lower, [folder("lib"), file("lib/x", "x")]])
    assert tree["/lib/x"] == "x"
    assert "/usr/lib/x" not in tree


def test_symlink_stays_link_in_view(tmp_path: Path) -> None:
    write_oci_layout(tmp_path / "oci", [[folder("usr/bin"), symlink("bin", "usr/bin")]])
    with open_image(f"oci:{tmp_path / 'oci'}:latest") as image:
        entry = image.fs.lstat("/bin")
        assert entry is not None
        assert entry.type is FileType.SYMLINK
        assert entry.link_target == "usr/bin"
        assert image.fs.is_dir("/bin")
