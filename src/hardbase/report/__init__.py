"""Output formats: one module per format, each turning plain results into text.

The SBOM writers are :mod:`hardbase.report.cyclonedx` (CycloneDX JSON) and
:mod:`hardbase.report.spdx` (SPDX 2.3 JSON); both name packages with the
package URLs of :mod:`hardbase.packages.purl`.
"""
