"""hardbase: know, build and keep fresh secure container base images."""

__version__ = "0.1.0"
