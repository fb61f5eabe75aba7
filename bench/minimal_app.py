"""The minimal app: the SMS intake a competent user writes by hand in an afternoon.

`switchboard bench` measures Switchboard against it, on the same Temporal server and the same
kind of store. Nothing of Switchboard's is used here, on purpose:

- `ingress`: a FastAPI endpoint checks `X-Twilio-Signature` with `twilio.RequestValidator`,
  starts one workflow per `MessageSid` (a second start for the same sid is rejected, and the
  duplicate is acknowledged all the same) and answers TwiML once Temporal accepted the start;
- `worker`: that workflow runs one local activity, which inserts the message into a table.

    python bench/minimal_app.py worker  --temporal HOST:PORT --database-url URL
    python bench/minimal_app.py ingress --temporal HOST:PORT --database-url URL --port N \
        --auth-token TOKEN
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from fastapi import FastAPI, Request, Response
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.worker import Worker
from twilio.request_validator import RequestValidator

TASK_QUEUE = "minimal-sms"
# Named, so the SDK does not hash the source of every loaded module to make one up.
BUILD_ID = "minimal-app"
TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'

metadata = sa.MetaData()
messages = sa.Table(
    "messages",
    metadata,
    sa.Column("message_sid", sa.String, primary_key=True),
    sa.Column("from_number", sa.String, nullable=False),
    sa.Column("to_number", sa.String, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("persisted_at", sa.DateTime(timezone=True), nullable=False),
)


def engine_for(url: str) -> sa.Engine:
    engine = sa.create_engine(url)
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _wal(conn, _record):  # type: ignore[no-untyped-def]
            conn.execute("PRAGMA journal_mode=wal")
            conn.execute("PRAGMA synchronous=normal")
            conn.execute("PRAGMA busy_timeout=5000")

    metadata.create_all(engine)
    return engine


@dataclass
class Sms:
    message_sid: str
    from_number: str
    to_number: str
    body: str
    received_at: datetime


class Store:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    @activity.defn
    def insert_message(self, sms: Sms) -> None:
        row = {**sms.__dict__, "persisted_at": datetime.now(UTC)}
        try:
            with self.engine.begin() as conn:
                conn.execute(messages.insert().values(row))
        except sa.exc.IntegrityError:
            pass  # a retried activity: the row is already there


@workflow.defn(sandboxed=False)
class SmsWorkflow:
    @workflow.run
    async def run(self, sms: Sms) -> None:
        await workflow.execute_local_activity(
            "insert_message", sms, start_to_close_timeout=timedelta(seconds=10)
        )


async def run_worker(temporal: str, database_url: str) -> None:
    client = await Client.connect(temporal)
    store = Store(engine_for(database_url))
    with ThreadPoolExecutor(8) as executor:
        worker = Worker(
            client,
            task_queue=TASK_QUEUE,
            workflows=[SmsWorkflow],
            activities=[store.insert_message],
            activity_executor=executor,
            build_id=BUILD_ID,
        )
        await worker.run()


def ingress_app(
    auth_token: str, temporal: str = "", client: Client | None = None, task_queue: str = TASK_QUEUE
) -> FastAPI:
    """The webhook, on a Temporal `client` or one it connects to `temporal` at start-up."""
    validator = RequestValidator(auth_token)
    clients = [client] if client else []

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if not clients:
            clients.append(await Client.connect(temporal))
        yield

    app = FastAPI(lifespan=lifespan)

    @app.post("/sms")
    async def sms(request: Request) -> Response:
        form = await request.form()
        params = {key: str(value) for key, value in form.items()}
        signature = request.headers.get("X-Twilio-Signature", "")
        if not validator.validate(str(request.url), params, signature):
            return Response(status_code=403)
        message = Sms(
            params["MessageSid"], params["From"], params["To"], params["Body"], datetime.now(UTC)
        )
        # Twilio may deliver a message again: a second start for its sid is refused, and the
        # duplicate acknowledged all the same.
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await clients[0].start_workflow(
                SmsWorkflow.run,
                message,
                id=f"sms-{message.message_sid}",
                task_queue=task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            )
        return Response(TWIML, media_type="application/xml")

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("role", choices=["worker", "ingress"])
    parser.add_argument("--temporal", required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--auth-token", default="")
    args = parser.parse_args()
    if args.role == "worker":
        asyncio.run(run_worker(args.temporal, args.database_url))
    else:
        import uvicorn

        app = ingress_app(args.auth_token, args.temporal)
        uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
