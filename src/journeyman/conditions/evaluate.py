"""Evaluate a rule tree against the facts of one run, with the reason in words.

Each rule kind evaluates itself (``conditions.rules``); this is the entry point, plus the
names other layers import from here.
"""

from __future__ import annotations

from journeyman.conditions.base import Facts, Verdict
from journeyman.conditions.operators import compare, matches_where
from journeyman.conditions.rules import Condition

__all__ = ["Facts", "Verdict", "compare", "evaluate", "matches_where"]


def evaluate(condition: Condition, facts: Facts) -> Verdict:
    return condition.evaluate(facts)
