"""Per-target resolution with resolvelib, the ruleset's pins added as constraints."""

from tripin.resolver.resolve import TargetResolution, resolve_all, resolve_target

__all__ = ["TargetResolution", "resolve_all", "resolve_target"]
