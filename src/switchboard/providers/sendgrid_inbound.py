"""SendGrid Inbound Parse: a received email, from either of its two modes.

Default mode posts the parsed message (`from`, `to`, `subject`, `text`, `html`, `headers`,
files `attachment1..N` described by `attachment-info`); Send Raw posts the whole MIME message
in `email`. Text parts are in the charset the `charsets` field names for them.

The ingress turns the form into an `InboundEmail`, stores its attachments and the raw body as
blobs, and hands the workflow the compact fields of `compact_fields`, which `parse` reads.
"""

from __future__ import annotations

import codecs
import email
import email.policy
import email.utils
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from email.message import EmailMessage
from email.parser import HeaderParser

from switchboard.addresses import normalize_email
from switchboard.contract import (
    Channel,
    Content,
    Direction,
    Identity,
    IdentityKind,
    MediaRef,
    NormalizedInteraction,
    Provider,
)
from switchboard.errors import MalformedPayload
from switchboard.providers import email_auth
from switchboard.providers.events import ProviderEvent

# The text kept in the workflow; the whole message stays in the raw blob.
MAX_TEXT_CHARS = 64 * 1024


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str | None
    data: bytes | memoryview  # a view of the posted form, not a copy


@dataclass(frozen=True)
class InboundEmail:
    from_address: str
    to_address: str
    subject: str
    text: str
    message_id: str | None
    in_reply_to: str | None
    references: list[str]
    attachments: list[Attachment] = field(default_factory=list)
    # SendGrid's verdicts on the sender, as posted (`email_auth` reads them).
    spf: str = ""
    dkim: str = ""
    envelope: str = ""


def decode_fields(fields: Mapping[str, bytes | memoryview]) -> dict[str, str]:
    """Every text field decoded with its charset from `charsets` (UTF-8 when unnamed).

    Field names are compared case-insensitively: SendGrid's docs spell them both ways. Of the
    bodies (`text`, `html`) only what the workflow keeps is decoded: a 30 MB text part would
    otherwise be decoded whole, in one call that holds the GIL.
    """
    lowered = {name.lower(): value for name, value in fields.items()}
    try:
        charsets = json.loads(bytes(lowered.get("charsets", b"{}")).decode("utf-8") or "{}")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedPayload("charsets is not a JSON object") from exc
    if not isinstance(charsets, dict):
        raise MalformedPayload("charsets is not a JSON object")
    charsets = {str(k).lower(): str(v) for k, v in charsets.items()}
    return {
        name: _decode(
            value, charsets.get(name, "utf-8"), MAX_TEXT_CHARS if name in _BODIES else None
        )
        for name, value in lowered.items()
    }


_BODIES = {"text", "html"}
_DECODE_STEP = 64 * 1024


def _decode(value: bytes | memoryview, charset: str, max_chars: int | None) -> str:
    """`value` decoded (unknown charsets as UTF-8, bad bytes replaced), up to `max_chars`."""
    try:
        decoder = codecs.getincrementaldecoder(charset)(errors="replace")
    except LookupError:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    if max_chars is None:
        return decoder.decode(value, final=True)
    # Piece by piece, so that stateful charsets (iso-2022-jp) decode as they would whole.
    decoded: list[str] = []
    length = 0
    for start in range(0, len(value), _DECODE_STEP):
        end = start + _DECODE_STEP
        decoded.append(decoder.decode(value[start:end], final=end >= len(value)))
        length += len(decoded[-1])
        if length >= max_chars:
            break
    return "".join(decoded)[:max_chars]


def _ids(value: str | None) -> list[str]:
    return [part.strip("<>") for part in (value or "").split() if part.strip("<>")]


def _address(value: str, what: str) -> str:
    _, address = email.utils.parseaddr(value)
    if not address:
        raise MalformedPayload(f"no {what} address")
    return normalize_email(address)


def parse_form(
    fields: Mapping[str, bytes | memoryview], files: Iterable[Attachment]
) -> InboundEmail:
    """The email of an Inbound Parse post, in default or raw mode."""
    text_fields = decode_fields(fields)
    spf, dkim = text_fields.get("spf", ""), text_fields.get("dkim", "")
    envelope = text_fields.get("envelope", "")
    if "email" in text_fields:
        mail = _from_mime(bytes(fields.get("email") or fields.get("Email") or b""), text_fields)
        return replace(mail, spf=spf, dkim=dkim, envelope=envelope)
    headers = HeaderParser(policy=email.policy.default).parsestr(text_fields.get("headers", ""))
    message_id = _ids(str(headers.get("Message-ID", "")))
    in_reply_to = _ids(str(headers.get("In-Reply-To", "")))
    return InboundEmail(
        from_address=_address(text_fields.get("from", ""), "sender"),
        to_address=_first_recipient(text_fields),
        subject=text_fields.get("subject", ""),
        text=text_fields.get("text", ""),
        message_id=message_id[0] if message_id else None,
        in_reply_to=in_reply_to[0] if in_reply_to else None,
        references=_ids(str(headers.get("References", ""))),
        attachments=list(files),
        spf=spf,
        dkim=dkim,
        envelope=envelope,
    )


def _first_recipient(text_fields: dict[str, str]) -> str:
    addresses = email.utils.getaddresses([text_fields.get("to", "")])
    for _, address in addresses:
        if address:
            return normalize_email(address)
    return ""


def _from_mime(raw: bytes, text_fields: dict[str, str]) -> InboundEmail:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    if not isinstance(message, EmailMessage) or not message.keys():
        raise MalformedPayload("email is not a MIME message")
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if isinstance(body, EmailMessage) else ""
    attachments = [
        Attachment(
            filename=part.get_filename() or "attachment",
            content_type=part.get_content_type(),
            data=payload,
        )
        for part in message.iter_attachments()
        if isinstance(part, EmailMessage)
        and isinstance(payload := part.get_payload(decode=True), bytes)
    ]
    message_id = _ids(str(message.get("Message-ID", "")))
    in_reply_to = _ids(str(message.get("In-Reply-To", "")))
    return InboundEmail(
        from_address=_address(
            str(message.get("From", "")) or text_fields.get("from", ""), "sender"
        ),
        to_address=_first_recipient(
            {"to": str(message.get("To", "")) or text_fields.get("to", "")}
        ),
        subject=str(message.get("Subject", "")),
        text=text,
        message_id=message_id[0] if message_id else None,
        in_reply_to=in_reply_to[0] if in_reply_to else None,
        references=_ids(str(message.get("References", ""))),
        attachments=attachments,
    )


def compact_fields(
    mail: InboundEmail, key: str, raw_ref: str, attachments: list[MediaRef]
) -> list[tuple[str, str]]:
    """What the workflow carries: small fields and references, never the large bodies."""
    fields = [
        ("key", key),
        ("from", mail.from_address),
        ("to", mail.to_address),
        ("subject", mail.subject),
        ("text", mail.text[:MAX_TEXT_CHARS]),
        ("message_id", mail.message_id or ""),
        ("in_reply_to", mail.in_reply_to or ""),
        ("references", " ".join(mail.references)),
        ("raw", raw_ref),
        # The verdicts, so normalization (and reprocessing) decides what the From is worth.
        ("spf", mail.spf),
        ("dkim", mail.dkim),
        ("envelope_from", email_auth.envelope_sender(mail.envelope)),
    ]
    fields += [
        (
            "attachment",
            json.dumps(
                {
                    "url": a.url,
                    "content_type": a.content_type,
                    "filename": a.filename,
                    "size_bytes": a.size_bytes,
                }
            ),
        )
        for a in attachments
    ]
    return fields


def parse(fields: Iterable[tuple[str, str]], received_at: datetime) -> ProviderEvent:
    pairs = list(fields)
    values = dict(pairs)
    if not values.get("key") or not values.get("from"):
        raise MalformedPayload("inbound email without key or sender")
    sender = values["from"]
    content = Content(
        text=values.get("text") or None,
        subject=values.get("subject") or None,
        media=[MediaRef(**json.loads(v)) for k, v in pairs if k == "attachment"],
        message_id=values.get("message_id") or None,
        in_reply_to=values.get("in_reply_to") or None,
        references=values.get("references", "").split(),
    )
    interaction = NormalizedInteraction(
        channel=Channel.EMAIL,
        direction=Direction.INBOUND,
        provider=Provider.SENDGRID,
        provider_message_id=values["key"],
        from_address=sender,
        to_address=values.get("to", ""),
        occurred_at=received_at,
        received_at=received_at,
        content=content,
        customer_identity=Identity(IdentityKind.EMAIL, sender, verified=_verified(values)),
    )
    return ProviderEvent(interaction, event_key=values["key"])


def _verified(values: dict[str, str]) -> bool:
    """Whether SendGrid's verdicts verify the From. An email archived before the verdicts
    were kept (no `spf` field) stays verified, as it was when it was first processed."""
    if "spf" not in values:
        return True
    envelope = json.dumps({"from": values.get("envelope_from", "")})
    return email_auth.sender_verified(
        values["from"], values.get("spf", ""), values.get("dkim", ""), envelope
    )
