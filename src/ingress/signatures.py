"""Signature checks on the raw request, before anything is parsed or started."""

from __future__ import annotations

from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from twilio.request_validator import RequestValidator


def public_url(request: Request, public_base: str | None) -> str:
    """The URL the provider called, which is what it signed.

    Behind a proxy or tunnel the request reaches us on another scheme and host, so the base
    comes from `SWITCHBOARD_PUBLIC_URL`; the path and query are taken raw, exactly as sent
    (a re-encoded or re-ordered query no longer matches the signature).
    """
    if public_base:
        base = public_base
    else:
        base = f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"
    path = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string", b"")
    url = base + path.decode("latin-1")
    if query:
        url += "?" + query.decode("latin-1")
    return url


def twilio_signature_valid(
    auth_token: str, url: str, fields: list[tuple[str, str]], signature: str | None
) -> bool:
    """Check `X-Twilio-Signature` with Twilio's own validator over every form field.

    A multi-dict keeps repeated keys and empty values, which Twilio signs too.
    """
    if not signature:
        return False
    return bool(RequestValidator(auth_token).validate(url, ImmutableMultiDict(fields), signature))
