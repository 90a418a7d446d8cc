"""The explicit registry of step kinds. Adding a kind: write its module, list it here."""

from __future__ import annotations

from collections.abc import Iterable

from journeyman.steps.base import StepKind
from journeyman.steps.contacts import BlocklistContact, UpdateAttribute
from journeyman.steps.crm import AssignUser, CreateDealStep, CreateTaskStep
from journeyman.steps.flow import GoTo, IfElse, Split, Switch
from journeyman.steps.lists import AddToList, RemoveFromList
from journeyman.steps.messages import SendEmail
from journeyman.steps.notifications import SendNotification
from journeyman.steps.texts import SendSms, SendWhatsApp
from journeyman.steps.timing import Delay, WaitUntil, WaitWindow
from journeyman.steps.waiting import WaitForEvent
from journeyman.steps.webhook import CallWebhook
from journeyman.steps.workflows import RecordConversionStep, StartWorkflow


class Registry:
    def __init__(self, kinds: Iterable[StepKind] = ()) -> None:
        self._kinds: dict[str, StepKind] = {}
        self._primary: dict[str, StepKind] = {}
        for kind in kinds:
            self.register(kind)

    def register(self, kind: StepKind) -> None:
        for name in (kind.kind, *kind.aliases):
            if name in self._kinds:
                raise ValueError(f"step kind {name!r} is registered twice")
            self._kinds[name] = kind
        self._primary[kind.kind] = kind

    def get(self, name: str) -> StepKind:
        return self._kinds[name]

    def __contains__(self, name: object) -> bool:
        return name in self._kinds

    def names(self) -> list[str]:
        return list(self._kinds)

    def primary(self) -> list[StepKind]:
        return list(self._primary.values())


REGISTRY = Registry(
    [
        IfElse(),
        Switch(),
        Split(),
        GoTo(),
        Delay(),
        WaitUntil(),
        WaitWindow(),
        SendEmail(),
        SendSms(),
        SendWhatsApp(),
        SendNotification(),
        AddToList(),
        RemoveFromList(),
        UpdateAttribute(),
        BlocklistContact(),
        StartWorkflow(),
        RecordConversionStep(),
        CallWebhook(),
        CreateDealStep(),
        CreateTaskStep(),
        AssignUser(),
        WaitForEvent(),
    ]
)
