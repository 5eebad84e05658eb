"""Scanning: findings about an image's packages, vulnerabilities and hardening."""
