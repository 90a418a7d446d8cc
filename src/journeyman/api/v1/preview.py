"""``/api/v1/preview/email``: a send_email step rendered for one contact by the server's
sandboxed renderer, recording nothing (``services.previews``)."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import BaseModel, Field

from journeyman.api.limits import EMAIL_LENGTH, ContactId
from journeyman.api.v1.common import V1_ERRORS, v1_router
from journeyman.api.wire import Body, Journeyman
from journeyman.services import previews

router = v1_router("preview")


class EmailPreviewRequest(Body):
    """A send_email step's content (as in a workflow document) and the contact to render it
    for; ``template`` names one of ``templates`` when ``html`` is not given."""

    max_text: ClassVar[int | None] = None  # an email's HTML: the body's limit only

    subject: str
    preview_text: str | None = None
    html: str | None = None
    text: str | None = None
    template: Annotated[str | None, Field(max_length=500)] = None
    templates: dict[str, str] = Field(default_factory=dict)
    contact: Annotated[
        ContactId | Annotated[str, Field(min_length=1, max_length=EMAIL_LENGTH)],
        Field(description="the contact's email address or id"),
    ]
    workflow: Annotated[str, Field(max_length=64, description="{{ workflow.key }}")] = ""
    step: Annotated[str, Field(max_length=64, description="{{ step }}")] = ""


class EmailPreview(BaseModel):
    subject: str
    html: str
    text: str | None


@router.post("/preview/email", response_model=EmailPreview, responses=V1_ERRORS)
def preview_email(body: EmailPreviewRequest, app: Journeyman) -> EmailPreview:
    """The email as the step would render it for the contact, with the same template
    context and limits as sending; links are not tracked, ``{{ unsubscribe_url }}`` is
    inert, and nothing is stored (no message, no open, no click). A template that does not
    compile or render is a 422 naming the field."""
    draft = previews.EmailDraft(
        subject=body.subject,
        html=body.html,
        text=body.text,
        preview_text=body.preview_text,
        template=body.template,
        templates=body.templates,
        workflow=body.workflow,
        step=body.step,
    )
    rendered = previews.preview_email(app, draft, str(body.contact))
    return EmailPreview(subject=rendered.subject, html=rendered.html, text=rendered.text)
