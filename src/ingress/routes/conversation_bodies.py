"""The request bodies of the agent actions on a conversation (`routes.conversations`)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class AssignBody(BaseModel):
    agent: str | None = Field(
        default=None, min_length=1, max_length=128, description="default: the caller"
    )


class TemplateBody(BaseModel):
    content_sid: str = Field(
        pattern=r"^HX[0-9a-fA-F]{32}$", description="the approved template's Content SID"
    )
    variables: dict[str, Annotated[str, Field(max_length=1024)]] = Field(
        default_factory=dict, max_length=100, description='placeholder values: {"1": "Amelia"}'
    )


class _ReplyOn(BaseModel):
    # No other field: "text or template, not both" is then the schema's own (`anyOf` of two
    # closed objects), so what it allows the API takes and a generated client types both.
    model_config = ConfigDict(extra="forbid")

    channel: Literal["sms", "whatsapp", "email"] | None = Field(
        default=None, description="default: the channel of the customer's latest message"
    )


class ReplyText(_ReplyOn):
    text: str = Field(min_length=1, max_length=1600)


class ReplyWithTemplate(_ReplyOn):
    template: TemplateBody = Field(
        description="a WhatsApp template instead of text (outside WhatsApp's 24-hour window)"
    )


ReplyBody = ReplyText | ReplyWithTemplate


class ResolveBody(BaseModel):
    code: str = Field(min_length=1, max_length=64, description="resolution code, e.g. answered")
    disposition: str | None = Field(
        default=None, max_length=64, description="one of the routing rules' `dispositions`"
    )


class TransferBody(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["queue"], "properties": {"queue": {"type": "string"}}},
                {"required": ["agent"], "properties": {"agent": {"type": "string"}}},
            ]
        }
    )

    queue: str | None = Field(
        default=None, min_length=1, max_length=64, description="a queue of the routing rules"
    )
    agent: str | None = Field(default=None, min_length=1, max_length=128)

    @model_validator(mode="after")
    def _queue_or_agent(self) -> TransferBody:
        if self.queue is None and self.agent is None:
            raise ValueError("give a queue, an agent or both")
        return self


Label = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^,\s][^,]*$")]


class LabelsBody(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["add"], "properties": {"add": {"minItems": 1}}},
                {"required": ["remove"], "properties": {"remove": {"minItems": 1}}},
            ]
        }
    )

    add: list[Label] = Field(default_factory=list, max_length=50)
    remove: list[Label] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _add_or_remove(self) -> LabelsBody:
        if not self.add and not self.remove:
            raise ValueError("give labels to add or remove")
        return self


class CsatBody(BaseModel):
    score: int = Field(ge=1, le=5, description="1 (very unsatisfied) to 5 (very satisfied)")
    comment: str = Field(default="", max_length=1000)


class ReopenBody(BaseModel):
    reason: str = Field(default="", max_length=256)
