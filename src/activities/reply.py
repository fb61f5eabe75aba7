"""send_reply: an agent's reply, sent through Twilio (SMS) or SendGrid (email), exactly once.

The outbox row is written before anything is sent and carries the provider's id once sent,
so a retried activity never sends twice what was already acknowledged. (A crash between the
provider's answer and that write can still send twice; neither API offers an idempotency key
to close that gap.) The reply is stored as an outbound interaction keyed by the provider's
message id, so its status callbacks and email events merge into it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from python_http_client.exceptions import HTTPError as SendGridHTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import CustomArg, Mail
from temporalio import activity
from temporalio.exceptions import ApplicationError
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client as TwilioClient

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
            twilio, settings.twilio_from_number, sendgrid, settings.sendgrid_from_email, callback
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
        row = self.conversations.claim_outbox(inp)
        if row["provider_message_id"]:
            provider_message_id = row["provider_message_id"]  # sent by an earlier attempt
        else:
            try:
                provider_message_id = self._send(inp)
            except ApplicationError as exc:
                self.conversations.mark_outbox(inp.outbox_id, "failed", error=exc.message)
                raise
            self.conversations.mark_outbox(inp.outbox_id, "sent", provider_message_id)
        provider = Provider.SENDGRID if inp.channel is Channel.EMAIL else Provider.TWILIO
        now = datetime.now(UTC)
        interaction = CustomerInteraction(
            interaction_id=inp.outbox_id,
            customer_id=inp.customer_id,
            conversation_id=inp.conversation_id,
            channel=Channel.EMAIL if inp.channel is Channel.EMAIL else Channel.SMS,
            direction=Direction.OUTBOUND,
            provider=provider,
            provider_message_id=provider_message_id,
            from_address=(
                self.senders.sendgrid_from
                if provider is Provider.SENDGRID
                else self.senders.twilio_from
            )
            or "",
            to_address=inp.to_address,
            occurred_at=now,
            received_at=now,
            content=Content(text=inp.text, subject=inp.subject),
            status=Status.COMPLETED,
            route=Route(queue="outbound", priority=0),
            delivery_status="queued" if provider is Provider.TWILIO else "processed",
        )
        stored = self.store.persist_interaction(interaction, raw=None)
        return SendReplyResult(stored.interaction_id, provider_message_id)

    def _send(self, inp: SendReplyInput) -> str:
        if inp.channel in (Channel.SMS, Channel.VOICE):
            return self._sms(inp)
        if inp.channel is Channel.EMAIL:
            return self._email(inp)
        raise _permanent(f"replies on {inp.channel} are not supported")

    def _sms(self, inp: SendReplyInput) -> str:
        senders = self.senders
        if senders.twilio is None or not senders.twilio_from:
            raise _permanent("SMS replies need the Twilio account SID, auth token and from number")
        try:
            message = senders.twilio.messages.create(
                to=inp.to_address,
                from_=senders.twilio_from,
                body=inp.text,
                **({"status_callback": senders.status_callback} if senders.status_callback else {}),
            )
        except TwilioRestException as exc:
            if 400 <= exc.status < 500 and exc.status != 429:
                raise _permanent(f"Twilio refused the message ({exc.code}): {exc.msg}") from exc
            raise  # throttled or a server error: retried with backoff
        return str(message.sid)

    def _email(self, inp: SendReplyInput) -> str:
        senders = self.senders
        if senders.sendgrid is None or not senders.sendgrid_from:
            raise _permanent("email replies need the SendGrid API key and from address")
        mail = Mail(
            from_email=senders.sendgrid_from,
            to_emails=inp.to_address,
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
