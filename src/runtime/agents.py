"""`switchboard simulate agents`: a small support team working the open conversations through
the public API, as an agent desk would, so every resolution figure gets a value.

Each agent has an agent key of their own (created in the store, named `demo-<agent>-<run>`, so
the per-agent figures name them). Each round an agent looks at the open conversations and
takes one step on some of them: assign one to themselves, reply (through the configured
provider, or the demo's fake one: `runtime.demo_providers`), sometimes label or transfer it,
resolve a conversation they answered once it has been quiet for a while (the customer has
nothing more to say) with a disposition from the routing rules; once per resolution, they
sometimes submit the customer's CSAT and now and then reopen it.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from switchboard.routing import Rules
from switchboard.store import ApiKeys, Store

AGENTS = ("ana", "bo", "cy")
# How long the demo's agents wait for a conversation to be still before resolving it: the
# demo's customers write their few messages within about as long.
DEMO_QUIET = timedelta(seconds=20)
# One resolution in this many is reopened by the desk (the customer called back); with the
# demo's customers who write again, the demo reopens about one conversation in seven.
REOPEN_EVERY = 10
LABELS = ("vip", "billing", "delivery", "complaint", "follow-up")
# A conversation as `GET /api/conversations` lists it.
Row = dict[str, Any]
REPLIES = (
    "Thanks for reaching out, I'm looking into it now.",
    "Sorry about that! Could you confirm your order number?",
    "All sorted: you should see the change within the hour.",
)


@dataclass
class Desk:
    """The agents' keys and what they did (`(action, HTTP status)` → count).

    `quiet`: how long a conversation they replied to must have been still (no message, no
    action) before they resolve it, so a customer's messages in quick succession are one
    conversation, not a resolution reopened by the next one.
    """

    base_url: str
    keys: dict[str, str]
    rules: Rules
    rng: random.Random
    quiet: timedelta = timedelta(0)
    tally: Counter[tuple[str, int]] = field(default_factory=Counter)
    # Conversations each agent has replied to: they resolve those.
    replied: set[str] = field(default_factory=set)
    # Resolutions followed up (scored, perhaps reopened): once each.
    followed: set[str] = field(default_factory=set)
    # Every `REOPEN_EVERY`th resolution followed up is reopened, from the first one on: a
    # reopen decides a first-contact resolution (else undecided for a week), so the demo's FCR
    # has a value within its first minutes.
    follow_ups: int = 0

    async def round(self, http: httpx.AsyncClient, per_agent: int = 3) -> None:
        """One step each on a few open conversations, and a look at the resolved ones."""
        open_ = await self._list(http, "open")
        self.rng.shuffle(open_)
        agents = list(self.keys)
        for i, conversation in enumerate(open_[: per_agent * len(agents)]):
            await self._work(http, agents[i % len(agents)], conversation)
        for conversation in (await self._list(http, "resolved"))[-20:]:
            await self._after(http, self.rng.choice(agents), conversation)

    async def _list(self, http: httpx.AsyncClient, status: str) -> list[Row]:
        key = next(iter(self.keys.values()))
        rows: list[Row] = []
        params = {"status": status, "limit": "200"}
        while True:  # every page, oldest opened first
            _, answer = await self._call(
                http, "list", key, "GET", "/api/conversations", params=params
            )
            if not isinstance(answer, dict):
                return rows
            rows += answer["items"]
            if answer["next_cursor"] is None:
                return rows
            params["cursor"] = answer["next_cursor"]

    async def _work(
        self, http: httpx.AsyncClient, agent: str, conversation: dict[str, Any]
    ) -> None:
        cid, key = conversation["conversation_id"], self.keys[agent]
        path = f"/api/conversations/{cid}"
        if conversation["assignee"] is None:
            await self._call(http, "assign", key, "POST", f"{path}/assign", json={})
            return
        roll = self.rng.random()
        if roll < 0.05:
            queue = self.rng.choice(sorted(set(self.rules.queues()) - {conversation["queue"]}))
            body: dict[str, Any] = {"queue": queue}
            if self.rng.random() < 0.5:
                body["agent"] = f"key:{self.rng.choice([k for k in self.keys if k != agent])}"
            await self._call(http, "transfer", key, "POST", f"{path}/transfer", json=body)
        elif roll < 0.2:
            labels = {"add": self.rng.sample(LABELS, 2)}
            await self._call(http, "labels", key, "POST", f"{path}/labels", json=labels)
        elif cid not in self.replied or roll < 0.35 or not self._quiet(conversation):
            text = {"text": self.rng.choice(REPLIES)}
            status, _ = await self._call(http, "reply", key, "POST", f"{path}/reply", json=text)
            # Nobody to answer (a withheld caller, a push user: 409) or the provider refused
            # (502): resolved without a reply all the same.
            if status in (200, 409, 502):
                self.replied.add(cid)
        else:
            body = {"code": "answered"}
            if self.rules.dispositions:
                body["disposition"] = self.rng.choice(self.rules.dispositions)
            status, _ = await self._call(http, "resolve", key, "POST", f"{path}/resolve", json=body)
            if status == 200:
                # Should the customer write again, it is answered (and scored) afresh.
                self.replied.discard(cid)
                self.followed.discard(cid)

    def _quiet(self, conversation: Row) -> bool:
        updated = datetime.fromisoformat(conversation["updated_at"])
        return datetime.now(UTC) - updated >= self.quiet

    async def _after(
        self, http: httpx.AsyncClient, agent: str, conversation: dict[str, Any]
    ) -> None:
        cid, key = conversation["conversation_id"], self.keys[agent]
        path = f"/api/conversations/{cid}"
        if cid in self.followed:
            return
        self.followed.add(cid)
        self.follow_ups += 1
        if self.follow_ups % REOPEN_EVERY == 1:  # the customer called back: the desk reopens
            self.followed.discard(cid)
            body = {"reason": "customer called back"}
            await self._call(http, "reopen", key, "POST", f"{path}/reopen", json=body)
        elif self.rng.random() < 0.6 and conversation.get("csat_score") is None:
            score = self.rng.choices([1, 2, 3, 4, 5], weights=[1, 1, 2, 4, 5])[0]
            await self._call(http, "csat", key, "POST", f"{path}/csat", json={"score": score})

    async def _call(
        self, http: httpx.AsyncClient, action: str, key: str, method: str, path: str, **kwargs: Any
    ) -> tuple[int, Any]:
        """The HTTP status (0: no answer) and the answer's JSON if 2xx; tallied."""
        headers = {"Authorization": f"Bearer {key}"}
        if method == "POST":  # as an integrator would: a retry is then done once
            headers["Idempotency-Key"] = str(uuid.uuid4())
        try:
            response = await http.request(method, self.base_url + path, headers=headers, **kwargs)
        except httpx.HTTPError:
            # The ingress may be restarting: the next round tries again.
            self.tally[(action, 0)] += 1
            return 0, None
        self.tally[(action, response.status_code)] += 1
        return response.status_code, response.json() if response.is_success else None


def create_keys(store: Store, agents: int) -> dict[str, str]:
    """A fresh agent key per agent (names are unique per run: a key is shown only once)."""
    run = secrets.token_hex(3)
    api_keys = ApiKeys(store.engine)
    return {
        f"demo-{name}-{run}": api_keys.create(f"demo-{name}-{run}", "agent")
        for name in AGENTS[:agents]
    }


async def work(
    desk: Desk, stop: threading.Event, every_s: float, rounds: int | None = None
) -> None:
    """Rounds every `every_s` seconds until `stop` is set (or `rounds` of them)."""
    done = 0
    async with httpx.AsyncClient(timeout=40) as http:
        while not stop.is_set() and (rounds is None or done < rounds):
            await desk.round(http)
            done += 1
            await asyncio.sleep(every_s)
