"""Rule trees: parse (pydantic models), say what data they need, evaluate and explain.

Pure: nothing here touches the store. The engine loads the facts a tree asks for, one query
per batch, and hands them in.
"""

from journeyman.conditions.evaluate import Facts, Verdict, evaluate
from journeyman.conditions.rules import (
    AllOf,
    AnyOf,
    AttributeRule,
    Comparison,
    Condition,
    EventCountRule,
    InListRule,
    NotRule,
    needs_of,
)

__all__ = [
    "AllOf",
    "AnyOf",
    "AttributeRule",
    "Comparison",
    "Condition",
    "EventCountRule",
    "Facts",
    "InListRule",
    "NotRule",
    "Verdict",
    "evaluate",
    "needs_of",
]
