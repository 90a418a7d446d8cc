"""Rules over the run: its trigger event, earlier webhook answers, a random draw.

{trigger: {property: cart.total, gt: 50}}
{webhook: {step: check_stock, path: json.in_stock, equals: true}}
{random_percent: 30}
"""

from __future__ import annotations

from pydantic import Field, field_validator

from journeyman.conditions.base import Facts, Needs, Rule, Verdict, bucket
from journeyman.conditions.contact import today_note
from journeyman.conditions.operators import Comparison, compare, explain_value, value_at


class TriggerTest(Comparison):
    property: str = Field(min_length=1, description="a dotted path in the event's properties")


class TriggerRule(Rule):
    """A property of the event that started the run."""

    kind = "trigger"
    trigger: TriggerTest

    def needs(self) -> Needs:
        relative = self.trigger.relative
        return Needs(event=True, contact=relative, run=relative)

    def evaluate(self, facts: Facts) -> Verdict:
        test = self.trigger
        if facts.trigger is None:
            ok = compare(None, test)
            return Verdict(result=ok, reason=f"the run has no trigger event; {test.describe()}")
        value = value_at(facts.trigger.get("properties") or {}, test.property)
        ok = compare(value, test, facts.today() if test.relative else None)
        label = f"{facts.trigger.get('name', 'trigger')} {test.property}"
        return Verdict(
            result=ok, reason=explain_value(label, value, test, ok) + today_note(test, facts)
        )


class WebhookTest(Comparison):
    step: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,63}$", description="a call_webhook step")
    path: str = Field(
        min_length=1, description="ok, status, error, or json.a.b inside the answer's JSON"
    )

    @field_validator("path")
    @classmethod
    def _known_part(cls, value: str) -> str:
        head = value.split(".", 1)[0]
        if head not in ("ok", "status", "error", "json"):
            raise ValueError(f"expected ok, status, error or json.<path>, got {value!r}")
        return value


class WebhookRule(Rule):
    """The answer of an earlier ``call_webhook`` step of the run (its context)."""

    kind = "webhook"
    webhook: WebhookTest

    def needs(self) -> Needs:
        relative = self.webhook.relative
        return Needs(run=True, contact=relative)

    def evaluate(self, facts: Facts) -> Verdict:
        test = self.webhook
        answer = (facts.context.get("webhook") or {}).get(test.step)
        if answer is None:
            ok = compare(None, test)
            return Verdict(
                result=ok, reason=f"webhook {test.step} has no answer; {test.describe()}"
            )
        value = value_at(answer, test.path)
        ok = compare(value, test, facts.today() if test.relative else None)
        label = f"webhook {test.step} {test.path}"
        return Verdict(
            result=ok, reason=explain_value(label, value, test, ok) + today_note(test, facts)
        )


class RandomRule(Rule):
    """True for ``random_percent`` percent of runs, decided by the run's id and the step's:
    the same run takes the same way at the same step, every time. Several random rules of
    one step share the run's number (use a ``split`` step for N-way splits)."""

    kind = "random_percent"
    random_percent: float = Field(ge=0, le=100)

    def needs(self) -> Needs:
        return Needs(run=True)

    def evaluate(self, facts: Facts) -> Verdict:
        drawn = bucket(facts.run_id, facts.step_id)
        ok = drawn < round(self.random_percent * 100)
        sign = "<" if ok else ">="
        return Verdict(
            result=ok,
            reason=f"random number {drawn / 100:.2f} {sign} {self.random_percent:g}%",
        )
