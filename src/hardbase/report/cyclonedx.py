"""CycloneDX JSON SBOMs of an image's packages, written with cyclonedx-python-lib.

The image is ``metadata.component`` (type ``container``) and its
distribution an ``operating-system`` component. Each package whose files
are in the image is a ``library`` component whose ``bom-ref`` is its purl.
Dependencies come
from the packages' recorded ``Depends``/``D:`` names where they resolve to a
listed package or to what one provides. Apart from the serial number and the
timestamp, the same inventory always gives the same text.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from uuid import UUID

from cyclonedx.model import ExternalReference, ExternalReferenceType, Property, XsUri
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.dependency import Dependency
from cyclonedx.model.license import DisjunctiveLicense, License, LicenseExpression
from cyclonedx.output.json import JsonV1Dot5, JsonV1Dot6

from hardbase import __version__
from hardbase.packages.model import Distro, Inventory, Package
from hardbase.packages.purl import distro_qualifier, package_url
from hardbase.report._sbom import (
    TOOL_NAME,
    SbomSubject,
    dependency_map,
    is_compound,
    package_refs,
    sbom_packages,
    spdx_license,
)

logger = logging.getLogger(__name__)

#: CycloneDX specification versions this writer produces.
SPEC_VERSIONS = {"1.5": JsonV1Dot5, "1.6": JsonV1Dot6}
#: Prefix of the component properties hardbase adds, per the CycloneDX property taxonomy.
PROPERTY_PREFIX = "hardbase:package:"


def cyclonedx_json(
    inventory: Inventory,
    subject: SbomSubject,
    *,
    spec_version: str = "1.6",
    serial_number: UUID | None = None,
    timestamp: datetime | None = None,
) -> str:
    """Return a CycloneDX JSON document listing the image's packages.

    ``serial_number`` and ``timestamp`` default to a random UUID and the current time;
    fix them to get byte-identical output. Raises ValueError for an unknown
    ``spec_version``.
    """
    writer = SPEC_VERSIONS.get(spec_version)
    if writer is None:
        raise ValueError(f"unsupported CycloneDX version {spec_version!r}")
    bom = build_bom(inventory, subject, serial_number=serial_number, timestamp=timestamp)
    return writer(bom).output_as_string(indent=2) + "\n"


def build_bom(
    inventory: Inventory,
    subject: SbomSubject,
    *,
    serial_number: UUID | None = None,
    timestamp: datetime | None = None,
) -> Bom:
    """Build the CycloneDX model of an inventory; see :func:`cyclonedx_json`."""
    bom = Bom()
    if serial_number is not None:
        bom.serial_number = serial_number
    bom.metadata.timestamp = timestamp or datetime.now(tz=UTC)
    bom.metadata.tools.components.add(
        Component(type=ComponentType.APPLICATION, name=TOOL_NAME, version=__version__)
    )
    root = _image_component(subject)
    bom.metadata.component = root

    top_level: list[Component] = []
    if inventory.distro is not None:
        top_level.append(_os_component(inventory.distro))

    packages = sbom_packages(inventory)
    refs = package_refs(packages, inventory)
    components: dict[str, Component] = {}
    for package, ref in zip(packages, refs, strict=True):
        components[ref] = _package_component(package, ref, inventory.distro)
    top_level.extend(components.values())
    # One assignment sorts each set once; adding one at a time re-sorts on every call.
    bom.components = top_level

    dependencies = [_dependency(root, top_level)]
    dependencies.extend(
        _dependency(c, []) for c in top_level if c.type is not ComponentType.LIBRARY
    )
    for ref, targets in dependency_map(packages, refs).items():
        dependencies.append(_dependency(components[ref], [components[t] for t in targets]))
    bom.dependencies = dependencies
    return bom


def _dependency(component: Component, targets: list[Component]) -> Dependency:
    return Dependency(
        ref=component.bom_ref, dependencies=[Dependency(ref=t.bom_ref) for t in targets]
    )


def _image_component(subject: SbomSubject) -> Component:
    properties = [Property(name="hardbase:image:transport", value=subject.transport)]
    if subject.digest:
        properties.append(Property(name="hardbase:image:digest", value=subject.digest))
    if subject.os and subject.architecture:
        platform = f"{subject.os}/{subject.architecture}"
        properties.append(Property(name="hardbase:image:platform", value=platform))
    return Component(
        type=ComponentType.CONTAINER,
        name=subject.name,
        version=subject.digest,
        bom_ref="image",
        properties=properties,
    )


def _os_component(distro: Distro) -> Component:
    properties = []
    if distro.codename:
        properties.append(Property(name="hardbase:distro:codename", value=distro.codename))
    return Component(
        type=ComponentType.OPERATING_SYSTEM,
        name=distro.id,
        version=distro.version_id,
        description=distro.pretty_name,
        bom_ref=f"os:{distro_qualifier(distro)}",
        properties=properties,
    )


def _package_component(package: Package, ref: str, distro: Distro | None) -> Component:
    properties = [
        Property(name=PROPERTY_PREFIX + "source-name", value=package.source_name or package.name),
        Property(
            name=PROPERTY_PREFIX + "source-version",
            value=package.source_version or package.version,
        ),
        Property(name=PROPERTY_PREFIX + "state", value=package.state),
    ]
    if package.selection:
        properties.append(Property(name=PROPERTY_PREFIX + "selection", value=package.selection))
    return Component(
        type=ComponentType.LIBRARY,
        name=package.name,
        version=package.version,
        bom_ref=ref,
        purl=package_url(package, distro),
        publisher=package.maintainer or None,
        description=package.description,
        licenses=component_licenses(package.licenses),
        external_references=_homepage(package),
        properties=properties,
    )


def component_licenses(recorded: tuple[str, ...]) -> list[License]:
    """Return CycloneDX licenses for a package's recorded license names.

    A single license that is an SPDX expression becomes an ``expression``; otherwise each
    license is an SPDX ``id`` where it has one and a ``name`` (the text as recorded) where
    not, because CycloneDX forbids mixing an expression with other licenses.
    """
    if len(recorded) == 1:
        expression = spdx_license(recorded[0])
        if expression is not None and is_compound(expression):
            return [LicenseExpression(expression)]
    licenses: list[License] = []
    for text in recorded:
        expression = spdx_license(text)
        if expression is not None and not is_compound(expression):
            licenses.append(DisjunctiveLicense(id=expression))
        else:
            licenses.append(DisjunctiveLicense(name=text))
    return licenses


def _homepage(package: Package) -> list[ExternalReference]:
    if not package.homepage:
        return []
    try:
        url = XsUri(package.homepage.strip())
    except ValueError:
        logger.debug("%s: homepage %r is not a URI, left out", package.name, package.homepage)
        return []
    return [ExternalReference(type=ExternalReferenceType.WEBSITE, url=url)]
