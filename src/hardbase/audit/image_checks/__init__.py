"""The hardening checks of an image, one module per concern.

``rules`` contains the catalog of rule ids, and ``context`` walks the image
once for all checks. ``users``, ``permissions``, ``tools``, ``secrets`` and
``footprint`` each turn what they see into findings.
"""
