"""Rule trees: parse (pydantic models), say what data they need, evaluate and explain.

Pure: nothing here touches the store. The engine loads the facts a tree asks for, a constant
number of queries per batch, and hands them in.
"""

from journeyman.conditions.base import (
    EventQuery,
    Facts,
    MessageQuery,
    Needs,
    OrderStats,
    Verdict,
    bucket,
)
from journeyman.conditions.evaluate import evaluate
from journeyman.conditions.operators import Comparison, compare, matches_where
from journeyman.conditions.rules import (
    AllOf,
    AnyOf,
    AttributeRule,
    Condition,
    EventCountRule,
    InListRule,
    NotRule,
    lists_named,
    needs_of,
    users_named,
)
from journeyman.model.contacts import Deal

__all__ = [
    "AllOf",
    "AnyOf",
    "AttributeRule",
    "Comparison",
    "Condition",
    "Deal",
    "EventCountRule",
    "EventQuery",
    "Facts",
    "InListRule",
    "MessageQuery",
    "Needs",
    "NotRule",
    "OrderStats",
    "Verdict",
    "bucket",
    "compare",
    "evaluate",
    "lists_named",
    "matches_where",
    "needs_of",
    "users_named",
]
