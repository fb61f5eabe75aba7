"""send_reply: an agent's reply, sent through Twilio (SMS or WhatsApp) or SendGrid (email),
exactly once.

The outbox row is written before anything is sent and carries the provider's id once sent,
so a retried activity never sends twice what was already acknowledged. (A crash between the
provider's answer and that write can still send twice; neither API offers an idempotency key
to close that gap.) The reply is stored as an outbound interaction keyed by the provider's
message id, so its status callbacks and email events merge into it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from python_http_client.exceptions import HTTPError as SendGridHTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import CustomArg, Mail
from temporalio import activity
from temporalio.exceptions import ApplicationError
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client as TwilioClient

from switchboard.addresses import WHATSAPP_PREFIX
from switchboard.contract import (
    SEND_REPLY,
    Channel,
    Content,
    CustomerInteraction,
    Direction,
    Provider,
    Route,
    SendReplyInput,
    SendReplyResult,
    Status,
)
from switchboard.replies import no_address, reply_address, window_closed, window_open
from switchboard.settings import WorkerSettings
from switchboard.store import ConversationStore, Store

REPLY_NOT_POSSIBLE = "ReplyNotPossible"


@dataclass
class Senders:
    """The providers' clients, built once from the worker's settings (None if not configured)."""

    twilio: TwilioClient | None
    twilio_from: str | None
    sendgrid: SendGridAPIClient | None
    sendgrid_from: str | None
    status_callback: str | None
    # The WhatsApp sender (`whatsapp:+…`), when the account has one.
    whatsapp_from: str | None = None

    @classmethod
    def from_settings(cls, settings: WorkerSettings) -> Senders:
        twilio = None
        if settings.twilio_account_sid and settings.twilio_auth_token:
            token = settings.twilio_auth_token.get_secret_value().split(",")[0].strip()
            twilio = TwilioClient(settings.twilio_account_sid, token)
            if settings.twilio_api_base_url:
                twilio.api.base_url = settings.twilio_api_base_url.rstrip("/")
        sendgrid = None
        if settings.sendgrid_api_key:
            sendgrid = SendGridAPIClient(
                api_key=settings.sendgrid_api_key.get_secret_value(),
                host=(settings.sendgrid_api_base_url or "https://api.sendgrid.com").rstrip("/"),
            )
        callback = (
            settings.public_url.rstrip("/") + "/webhooks/twilio/sms/status"
            if settings.public_url
            else None
        )
        return cls(
            twilio,
            settings.twilio_from_number,
            sendgrid,
            settings.sendgrid_from_email,
            callback,
            settings.twilio_whatsapp_from,
        )


def _permanent(message: str) -> ApplicationError:
    return ApplicationError(message, type=REPLY_NOT_POSSIBLE, non_retryable=True)


class ReplyActivities:
    def __init__(self, store: Store, conversations: ConversationStore, senders: Senders) -> None:
        self.store = store
        self.conversations = conversations
        self.senders = senders

    @activity.defn(name=SEND_REPLY)
    def send_reply(self, inp: SendReplyInput) -> SendReplyResult:
        inp = self._addressed(inp)
        row = self.conversations.claim_outbox(inp)
        sent_before = row["provider_message_id"]  # by an earlier attempt
        try:
            to_address = self._recipient(inp)
            provider_message_id = sent_before or self._send(inp, to_address)
        except ApplicationError as exc:
            self.conversations.mark_outbox(inp.outbox_id, "failed", error=exc.message)
            raise
        if not sent_before:
            self.conversations.mark_outbox(inp.outbox_id, "sent", provider_message_id)
        provider = Provider.SENDGRID if inp.channel is Channel.EMAIL else Provider.TWILIO
        now = datetime.now(UTC)
        interaction = CustomerInteraction(
            interaction_id=inp.outbox_id,
            customer_id=inp.customer_id,
            conversation_id=inp.conversation_id,
            channel=_stored_channel(inp.channel),
            direction=Direction.OUTBOUND,
            provider=provider,
            provider_message_id=provider_message_id,
            from_address=self._sender(inp.channel).removeprefix(WHATSAPP_PREFIX),
            to_address=to_address,
            occurred_at=now,
            received_at=now,
            content=Content(
                text=inp.text or None,
                subject=inp.subject,
                template_sid=inp.template.content_sid if inp.template else None,
            ),
            status=Status.COMPLETED,
            route=Route(queue="outbound", priority=0),
            delivery_status="queued" if provider is Provider.TWILIO else "processed",
        )
        stored = self.store.persist_interaction(interaction, raw=None)
        return SendReplyResult(stored.interaction_id, provider_message_id)

    def _addressed(self, inp: SendReplyInput) -> SendReplyInput:
        """The reply with what the store says of the customer's latest message: where it came
        from (the address `_recipient` prefers) and, for an email, the subject it answers.
        Runs recorded before the conversation stopped holding them pass their own."""
        to_address = inp.to_address
        if not to_address:
            last = self.store.last_inbound(inp.customer_id)
            to_address = last.from_address if last else ""
        subject = inp.subject
        if subject is None and inp.channel is Channel.EMAIL:
            latest = self.conversations.latest_subject(inp.conversation_id)
            subject = None if latest is None else f"Re: {latest.removeprefix('Re: ')}"
        return replace(inp, to_address=to_address, subject=subject)

    def _sender(self, channel: Channel) -> str:
        senders = self.senders
        if channel is Channel.EMAIL:
            return senders.sendgrid_from or ""
        if channel is Channel.WHATSAPP:
            return senders.whatsapp_from or ""
        return senders.twilio_from or ""

    def _recipient(self, inp: SendReplyInput) -> str:
        """Where the reply goes (`switchboard.replies`): from the conversation's record of the
        customer's latest message and the store's identities, never from a request."""
        customer = self.store.get_customer(inp.customer_id) or {"identities": []}
        identities = [(i["kind"], i["value"]) for i in customer["identities"]]
        address = reply_address(inp.channel, inp.to_address, identities)
        if address is None:
            raise _permanent(no_address(inp.channel))
        return address

    def _send(self, inp: SendReplyInput, to_address: str) -> str:
        if inp.channel is Channel.WHATSAPP:
            return self._whatsapp(inp, to_address)
        if inp.template is not None:
            raise _permanent("templates are sent on WhatsApp only")
        if inp.channel in (Channel.SMS, Channel.VOICE):
            return self._sms(inp, to_address)
        if inp.channel is Channel.EMAIL:
            return self._email(inp, to_address)
        raise _permanent(f"replies on {inp.channel} are not supported")

    def _sms(self, inp: SendReplyInput, to_address: str) -> str:
        senders = self.senders
        if senders.twilio is None or not senders.twilio_from:
            raise _permanent("SMS replies need the Twilio account SID, auth token and from number")
        return self._twilio_message(
            senders.twilio, to_address, senders.twilio_from, {"body": inp.text}
        )

    def _whatsapp(self, inp: SendReplyInput, to_address: str) -> str:
        """A free-form message inside the customer service window, else the template."""
        senders = self.senders
        if senders.twilio is None or not senders.whatsapp_from:
            raise _permanent(
                "WhatsApp replies need the Twilio account SID, auth token and "
                "SWITCHBOARD_TWILIO_WHATSAPP_FROM"
            )
        if inp.template is None:
            last = self.store.last_inbound(inp.customer_id, Channel.WHATSAPP)
            last_at = last.at if last else None
            if not window_open(last_at, datetime.now(UTC)):
                raise _permanent(window_closed(last_at))
            message: dict[str, Any] = {"body": inp.text}
        else:
            # Twilio wants the variables as a JSON string; no Body beside a ContentSid.
            message = {"content_sid": inp.template.content_sid}
            if inp.template.variables:
                message["content_variables"] = json.dumps(inp.template.variables)
        to = to_address if to_address.startswith(WHATSAPP_PREFIX) else WHATSAPP_PREFIX + to_address
        return self._twilio_message(senders.twilio, to, senders.whatsapp_from, message)

    def _twilio_message(
        self, twilio: TwilioClient, to: str, from_: str, message: dict[str, Any]
    ) -> str:
        callback = self.senders.status_callback
        try:
            sent = twilio.messages.create(
                to=to,
                from_=from_,
                **message,
                **({"status_callback": callback} if callback else {}),
            )
        except TwilioRestException as exc:
            if 400 <= exc.status < 500 and exc.status != 429:
                raise _permanent(f"Twilio refused the message ({exc.code}): {exc.msg}") from exc
            raise  # throttled or a server error: retried with backoff
        return str(sent.sid)

    def _email(self, inp: SendReplyInput, to_address: str) -> str:
        senders = self.senders
        if senders.sendgrid is None or not senders.sendgrid_from:
            raise _permanent("email replies need the SendGrid API key and from address")
        mail = Mail(
            from_email=senders.sendgrid_from,
            to_emails=to_address,
            subject=inp.subject or "Your message",
            plain_text_content=inp.text,
        )
        mail.custom_arg = CustomArg("outbox_id", inp.outbox_id)
        try:
            response = senders.sendgrid.send(mail)
        except SendGridHTTPError as exc:
            if 400 <= exc.status_code < 500 and exc.status_code != 429:
                raise _permanent(f"SendGrid refused the message ({exc.status_code})") from exc
            raise
        message_id = response.headers.get("X-Message-Id")
        if not message_id:
            raise RuntimeError("SendGrid accepted the message without an X-Message-Id")
        return str(message_id)


def _stored_channel(channel: Channel) -> Channel:
    """The channel the reply is stored under: a reply to a call goes out as an SMS."""
    return Channel.SMS if channel is Channel.VOICE else channel
