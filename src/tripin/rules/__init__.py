"""The ruleset: which Triton build each torch release needs, where it comes from, and why."""

from tripin.rules.load import load_ruleset
from tripin.rules.model import Bad, Build, Companion, Pin, Recipe, Ruleset

__all__ = ["Bad", "Build", "Companion", "Pin", "Recipe", "Ruleset", "load_ruleset"]
