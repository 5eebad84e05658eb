"""Hardening checks: what in an image, and later in Dockerfiles and manifests, weakens it."""

from __future__ import annotations

from hardbase.audit.image import HardeningSummary, ImageAudit, audit_image, check_image
from hardbase.audit.image_checks.rules import RULES, Rule

__all__ = ["RULES", "HardeningSummary", "ImageAudit", "Rule", "audit_image", "check_image"]
