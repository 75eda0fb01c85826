"""Engagement Automation: act on X posts when they perform, by rules written in YAML."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
