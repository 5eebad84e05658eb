"""Version parsing and ordering for Debian (dpkg) and Alpine (apk) packages."""

from hardbase.versions.dpkg import DpkgVersion, compare_dpkg, is_valid_dpkg, parse_dpkg

__all__ = [
    "DpkgVersion",
    "compare_dpkg",
    "is_valid_dpkg",
    "parse_dpkg",
]
