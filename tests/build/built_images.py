"""Example images built once and cached between test runs, keyed by spec and builder code.

A real build takes 20 to 60 s, so the example images are built at most once
per change of the spec or of the code that builds them, under the test cache
folder. Packages are reused from a shared .deb cache there as well.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest
from filelock import FileLock

from conftest import CACHE, REPO
from hardbase.build import BuildOptions, OutputTarget, build, load_spec

#: Fixed SOURCE_DATE_EPOCH of the test builds (2023-11-14T22:13:20Z).
EPOCH = 1_700_000_000
EXAMPLES = REPO / "examples"
DEBS = CACHE / "debs"
BUILDS = CACHE / "builds"
TAG = "test"
_CODE = (
    "src/hardbase/build",
    "src/hardbase/image/writer.py",
    "src/hardbase/tools/mmdebstrap.py",
)


@dataclass(frozen=True)
class BuiltImage:
    """An example image in an OCI layout, with what the build reported."""

    name: str
    layout: Path
    tag: str
    manifest_digest: str
    packages: tuple[str, ...]
    removed_packages: tuple[str, ...]
    uncompressed_size: int
    compressed_size: int
    sbom: str | None

    @property
    def reference(self) -> str:
        return f"oci:{self.layout}:{self.tag}"


def code_key() -> str:
    """Return a digest of the source files that decide what a build writes."""
    digest = hashlib.sha256()
    for entry in _CODE:
        path = REPO / entry
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            digest.update(file.relative_to(REPO).as_posix().encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


def build_example(name: str, folder: Path, *, package_cache: Path = DEBS) -> BuiltImage:
    """Build ``examples/NAME.yaml`` into ``folder/image`` with the fixed epoch."""
    spec_path = EXAMPLES / f"{name}.yaml"
    spec = load_spec(spec_path)
    layout = folder / "image"
    result = build(
        spec,
        BuildOptions(
            output=OutputTarget("oci", layout, TAG),
            source_date_epoch=EPOCH,
            package_cache=package_cache,
        ),
        source=str(spec_path),
    )
    return BuiltImage(
        name=name,
        layout=layout,
        tag=TAG,
        manifest_digest=result.manifest_digest,
        packages=result.packages,
        removed_packages=result.removed_packages,
        uncompressed_size=result.uncompressed_size,
        compressed_size=result.compressed_size,
        sbom=str(result.sbom_path) if result.sbom_path else None,
    )


def cached_example(name: str) -> BuiltImage:
    """Return the example image ``name``, built unless this spec and code were built before."""
    if shutil.which("mmdebstrap") is None:
        pytest.skip("mmdebstrap is not installed (apt-get install mmdebstrap)")
    spec = load_spec(EXAMPLES / f"{name}.yaml")
    key = hashlib.sha256((spec.digest() + code_key()).encode()).hexdigest()[:16]
    folder = BUILDS / f"{name}-{key}"
    record = folder / "result.json"
    BUILDS.mkdir(parents=True, exist_ok=True)
    with FileLock(str(BUILDS / f"{name}.lock")):
        if not record.is_file():
            for stale in BUILDS.glob(f"{name}-*"):
                if stale.is_dir() and len(stale.name) == len(name) + 17:
                    shutil.rmtree(stale, ignore_errors=True)
            folder.mkdir()
            built = build_example(name, folder)
            record.write_text(json.dumps(asdict(built), default=str))
        data = json.loads(record.read_text())
    data["layout"] = Path(data["layout"])
    data["packages"] = tuple(data["packages"])
    data["removed_packages"] = tuple(data["removed_packages"])
    return BuiltImage(**data)
