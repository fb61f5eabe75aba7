"""The first checks every request meets, before any body is read (ASGI middleware).

- A standard HTTP method (405 for any other, counted as `OTHER`: made-up methods are not
  labels);
- a Host this ingress serves (400 for any other): the public URL's, the bound address's,
  loopback names and `SWITCHBOARD_ALLOWED_HOSTS`, so a web page that rebinds its own name to
  this machine (DNS rebinding) reaches nothing;
- a caller of the API or the codec who changes state is authenticated before the body is read
  (401 at once, whatever body is on its way), so a stranger's body costs nothing;
- the codec's one-machine credential: `/codec/local/{token}/decode|encode` with the token
  `make run` wrote into the data directory and handed to Temporal UI. The token is checked
  here and taken out of the path, so no log, trace, label or audit row ever holds it.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable

from fastapi import HTTPException
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from ingress.auth.require import Principal, identify
from ingress.limits import answer
from ingress.metrics import REQUESTS, STANDARD_METHODS, UNMATCHED, route_template
from switchboard.permissions import Role
from switchboard.settings import IngressSettings, is_loopback

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
AUTHENTICATED_PREFIXES = ("/api/", "/codec/")
LOCAL_CODEC = re.compile(r"/codec/local/([^/]+)/(decode|encode)")
LOCAL_CODEC_ACTOR = "codec:local"


def host_name(header: str | None) -> str:
    """`Host: Hooks.Example.com.:443` → `hooks.example.com`; `[::1]:8000` → `::1`."""
    value = (header or "").strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else ""
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


def bearer(headers: Headers) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


class Gate:
    """See the module's docstring. The app's `state.codec_token` is None where the
    one-machine credential does not apply (an ingress bound beyond loopback); `cors` gives
    the codec's CORS headers for a request, so a refusal is one Temporal UI can read."""

    def __init__(
        self,
        app: ASGIApp,
        settings: IngressSettings,
        cors: Callable[[Request], dict[str, str]],
    ) -> None:
        self.app = app
        self.hosts = settings.served_host_names()
        self.cors = cors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        if method not in STANDARD_METHODS:
            REQUESTS.labels(UNMATCHED, "OTHER", "405").inc()
            allow = ", ".join(sorted(STANDARD_METHODS))
            await answer(send, 405, "method not allowed", {"Allow": allow})
            return
        headers = Headers(scope=scope)
        host = host_name(headers.get("host"))
        if self.hosts is not None and not (is_loopback(host) or host in self.hosts):
            REQUESTS.labels(route_template(scope), method, "400").inc()
            await answer(send, 400, "this server does not serve that Host")
            return
        request = Request(scope)
        local = LOCAL_CODEC.fullmatch(scope["path"])
        if local is not None:
            token: str | None = request.app.state.codec_token
            if token is None or not hmac.compare_digest(local[1].encode(), token.encode()):
                await answer(send, 401, "not a codec token of this machine", self.cors(request))
                return
            path = f"/codec/{local[2]}"
            scope = {**scope, "path": path, "raw_path": path.encode()}
            scope.setdefault("state", {})["principal"] = Principal(LOCAL_CODEC_ACTOR, Role.ADMIN)
        elif method in BODY_METHODS and scope["path"].startswith(AUTHENTICATED_PREFIXES):
            try:
                principal = await identify(request, bearer(headers))
            except HTTPException as exc:
                refusal = dict(exc.headers or {})
                if scope["path"].startswith("/codec/"):
                    refusal.update(self.cors(request))
                await answer(send, exc.status_code, str(exc.detail), refusal)
                return
            scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)
