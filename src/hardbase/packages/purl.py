"""Package URLs (purl) for packages read from an image, in the form syft and Trivy write.

Debian and Ubuntu packages are ``pkg:deb/VENDOR/NAME@VERSION?arch=ARCH&distro=ID-VERSION_ID``
and Alpine packages ``pkg:apk/alpine/NAME@VERSION?arch=ARCH&distro=alpine-VERSION_ID``.
The purl specification's ``deb`` type defines the ``arch`` and ``distro``
qualifiers, and its ``apk`` type defines ``arch``. ``distro`` on apk and
``upstream`` (the source package, ``NAME@VERSION`` when its version differs)
follow syft, because vulnerability matchers such as Grype read them.
"""

from __future__ import annotations

from packageurl import PackageURL

from hardbase.packages.model import Distro, Package

#: purl type of each package ecosystem.
PURL_TYPES = {"deb": "deb", "apk": "apk"}
#: Namespace used when the image has no os-release to name its vendor.
DEFAULT_NAMESPACES = {"deb": "debian", "apk": "alpine"}


def distro_qualifier(distro: Distro | None) -> str | None:
    """Return the ``distro`` qualifier value: ``debian-12``, ``ubuntu-22.04``, ``alpine-3.20.3``.

    Falls back to the codename (``debian-trixie``) when os-release has no ``VERSION_ID``,
    as Debian testing does, and returns None without a distribution.
    """
    if distro is None:
        return None
    release = distro.version_id or distro.codename
    return f"{distro.id}-{release}" if release else distro.id


def upstream_qualifier(package: Package) -> str | None:
    """Return the ``upstream`` qualifier: the source package, with its version if it differs."""
    source = package.source_name or package.name
    source_version = package.source_version or package.version
    if source_version != package.version:
        return f"{source}@{source_version}"
    if source != package.name:
        return source
    return None


def package_url(package: Package, distro: Distro | None) -> PackageURL:
    """Return the purl of ``package``; raises ValueError for an ecosystem without a purl type."""
    purl_type = PURL_TYPES.get(package.ecosystem)
    if purl_type is None:
        raise ValueError(f"no purl type for ecosystem {package.ecosystem!r}")
    namespace = distro.id if distro is not None else DEFAULT_NAMESPACES[package.ecosystem]
    qualifiers: dict[str, str] = {}
    if package.architecture:
        qualifiers["arch"] = package.architecture
    distro_value = distro_qualifier(distro)
    if distro_value:
        qualifiers["distro"] = distro_value
    upstream = upstream_qualifier(package)
    if upstream:
        qualifiers["upstream"] = upstream
    return PackageURL(
        type=purl_type,
        namespace=namespace.lower(),
        name=package.name,
        version=package.version,
        qualifiers=qualifiers,
    )
