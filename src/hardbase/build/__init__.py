"""Build minimal, non-root, reproducible Debian images from a YAML spec."""

from hardbase.build.builder import BuildOptions, BuildResult, OutputTarget, build, parse_output
from hardbase.build.spec import BuildSpec, SpecError, load_spec, parse_spec

__all__ = [
    "BuildOptions",
    "BuildResult",
    "BuildSpec",
    "OutputTarget",
    "SpecError",
    "build",
    "load_spec",
    "parse_output",
    "parse_spec",
]
