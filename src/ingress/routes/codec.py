"""Temporal's remote codec protocol, so Temporal UI and the `temporal` CLI can show plaintext.

`POST /codec/decode` and `/codec/encode` take and return `{"payloads": [...]}` (Temporal's
`Payloads` message as protobuf JSON: metadata values and data in base64). Temporal UI calls
them from the browser, so its origin (`SWITCHBOARD_TEMPORAL_UI_URL`) gets CORS. Reading
plaintext takes admin credentials; on the one-machine setup of `make run`, Temporal UI calls
`/codec/local/{token}/decode` with the token generated into the data directory instead
(`ingress.gate` checks it and takes it out of the path). Every call is audited.
"""

from __future__ import annotations

import base64
from typing import Annotated

from cryptography.exceptions import InvalidTag
from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from pydantic import BaseModel, Field
from temporalio.api.common.v1 import Payload

from ingress import problems
from ingress.auth import Permission, require
from ingress.auth.require import Credentials, authenticate
from ingress.deps import SettingsDep
from switchboard.codec import EncryptionCodec
from switchboard.settings import IngressSettings

router = APIRouter(
    prefix="/codec",
    tags=["codec"],
    responses=problems.responses(400, *problems.AUTHENTICATED),
)


BASE64 = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
Base64 = Annotated[str, Field(pattern=BASE64)]


class JSONPayload(BaseModel):
    """One payload as protobuf JSON writes it: bytes in base64."""

    metadata: dict[str, Base64] = {}
    data: Base64 = ""


class Payloads(BaseModel):
    payloads: list[JSONPayload] = []


def cors(settings: IngressSettings, request: Request) -> dict[str, str]:
    origin = request.headers.get("origin")
    if origin is None or origin != settings.temporal_ui_url.rstrip("/"):
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": "POST",
        "Access-Control-Allow-Headers": "Content-Type, X-Namespace, Authorization",
        "Access-Control-Allow-Credentials": "true",
        "Vary": "Origin",
    }


_may_decode = require(Permission.PAYLOADS_DECODE)


async def require_decoder(
    request: Request, response: Response, settings: SettingsDep, credentials: Credentials
) -> None:
    """An admin's credentials, or the one-machine token in the path (checked by the gate)."""
    try:
        await _may_decode(request, response, await authenticate(request, credentials))
    except HTTPException as exc:
        exc.headers = {**(exc.headers or {}), **cors(settings, request)}
        raise


# Declared like every other route's permission, so the access matrix holds it to the table.
require_decoder.permission = Permission.PAYLOADS_DECODE  # type: ignore[attr-defined]
Decoder = Depends(require_decoder)


def _to_proto(body: Payloads) -> list[Payload]:
    try:
        return [
            Payload(
                metadata={k: base64.b64decode(v, validate=True) for k, v in p.metadata.items()},
                data=base64.b64decode(p.data, validate=True),
            )
            for p in body.payloads
        ]
    except ValueError as exc:  # binascii.Error, or characters outside ASCII
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "payloads must be base64") from exc


def _to_json(payloads: list[Payload]) -> Payloads:
    return Payloads(
        payloads=[
            JSONPayload(
                metadata={k: base64.b64encode(v).decode() for k, v in p.metadata.items()},
                data=base64.b64encode(p.data).decode(),
            )
            for p in payloads
        ]
    )


def _codec(request: Request) -> EncryptionCodec:
    codec: EncryptionCodec = request.app.state.codec
    return codec


CodecDep = Annotated[EncryptionCodec, Depends(_codec)]


@router.post("/decode", dependencies=[Decoder])
async def decode(
    body: Payloads, codec: CodecDep, settings: SettingsDep, request: Request, response: Response
) -> Payloads:
    """Open sealed payloads; others come back as they are."""
    response.headers.update(cors(settings, request))
    try:
        opened = await codec.decode(_to_proto(body))
    except (InvalidTag, ValueError) as exc:
        # The message names at most a key id; never the payload.
        detail = str(exc) if isinstance(exc, ValueError) else "a payload does not open"
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail) from exc
    return _to_json(opened)


@router.post("/encode", dependencies=[Decoder])
async def encode(
    body: Payloads, codec: CodecDep, settings: SettingsDep, request: Request, response: Response
) -> Payloads:
    """Seal payloads with the current key, as the workers would."""
    response.headers.update(cors(settings, request))
    return _to_json(await codec.encode(_to_proto(body)))


@router.options("/decode", include_in_schema=False)
@router.options("/encode", include_in_schema=False)
async def preflight(settings: SettingsDep, request: Request) -> Response:
    """The browser's CORS preflight: allowed for Temporal UI's origin only."""
    headers = cors(settings, request)
    return Response(status_code=200 if headers else 403, headers=headers)
