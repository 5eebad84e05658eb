"""Real images for the comparison tests: Alpine, bookworm and trixie minbase, debian-runtime.

These fixtures live in a helper module, not in a ``conftest.py``: a second
``conftest`` module without ``__init__.py`` replaces the root one in
``sys.modules`` during collection, which breaks every later
``from conftest import ...``. Test modules import the fixtures they use.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conftest import REPO, cached_rootfs, shared_data

ALPINE_320 = ("alpine", "alpine-minirootfs-3.20.3-x86_64.tar.gz")

sys.path.insert(0, str(REPO / "tests" / "build"))
try:
    from built_images import BuiltImage, cached_example
except ImportError:  # pragma: no cover - only when the build tests are absent
    BuiltImage = None  # type: ignore[assignment,misc]
    cached_example = None  # type: ignore[assignment]


@pytest.fixture(scope="session")
def alpine_tar() -> Path:
    """Alpine's official 3.20.3 minirootfs tarball (gzip)."""
    return shared_data(*ALPINE_320)


@pytest.fixture(scope="session")
def trixie_tar() -> Path:
    """A trixie minbase root filesystem tarball built with mmdebstrap."""
    return cached_rootfs("trixie")


@pytest.fixture(scope="session")
def runtime_image() -> BuiltImage:
    """``examples/debian-runtime.yaml`` built by ``hardbase build`` into an OCI layout."""
    if cached_example is None:
        pytest.skip("tests/build/built_images.py is missing, so the example cannot be built")
    return cached_example("debian-runtime")
