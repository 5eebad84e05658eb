"""Version parsing and ordering for Debian (dpkg) and Alpine (apk) packages."""

from hardbase.versions.apk import ApkVersion, compare_apk, is_valid_apk, match_apk, parse_apk
from hardbase.versions.dpkg import DpkgVersion, compare_dpkg, is_valid_dpkg, parse_dpkg

__all__ = [
    "ApkVersion",
    "DpkgVersion",
    "compare_apk",
    "compare_dpkg",
    "is_valid_apk",
    "is_valid_dpkg",
    "match_apk",
    "parse_apk",
    "parse_dpkg",
]
