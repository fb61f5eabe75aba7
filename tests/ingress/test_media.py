"""GET /api/interactions/{id}/media/{index}: an email's attachment, an MMS image and a call's
recording served from the blob store, the Twilio ones copied by the interaction's workflow from
a double of Twilio's API (the account's basic auth), as a download, audited; 401/403/404."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from switchboard.settings import IngressSettings
from switchboard.store import Store
from tests.support.builders import (
    RECORDING_PATH,
    SMS_PATH,
    VOICE_PATH,
    call_fields,
    media_path,
    mms_fields,
    post_email,
    random_phone,
    recording_fields,
    recording_path,
    signed_twilio,
    twilio_sid,
)
from tests.support.oidc_issuer import AUDIENCE, Issuer, serve_issuer
from tests.support.pipeline import interaction_result, running_worker, twilio_media
from tests.support.provider_double import CDN, ProviderDouble, provider_double
from tests.support.settings import ingress_settings

PARSE = ("parse", secrets.token_urlsafe(12))
JPEG = b"\xff\xd8\xff\xe0" + secrets.token_bytes(2048)
WAV = b"RIFF" + secrets.token_bytes(4096)
MAX_BYTES = 64 * 1024


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    with serve_issuer() as running:
        yield running


@pytest.fixture
def settings(task_queue: str, tmp_path: Path, issuer: Issuer) -> IngressSettings:
    return ingress_settings(
        task_queue,
        data_dir=tmp_path / "data",
        sendgrid_inbound_user=PARSE[0],
        sendgrid_inbound_password=PARSE[1],
        oidc_issuer=issuer.url,
        oidc_audience=AUDIENCE,
    )


@pytest.fixture
def twilio() -> Iterator[ProviderDouble]:
    with provider_double() as double:
        yield double


@pytest.fixture
async def worker(
    client: Client,
    store: Store,
    task_queue: str,
    settings: IngressSettings,
    twilio: ProviderDouble,
) -> AsyncIterator[Worker]:
    media = twilio_media(store, settings.data_dir, twilio.url, MAX_BYTES)
    async with running_worker(client, store, task_queue, media=media) as running:
        yield running


async def mms(http: httpx.AsyncClient, client: Client, media: list[tuple[str, str]]) -> str:
    sid = twilio_sid("MM")
    request = signed_twilio(SMS_PATH, mms_fields(sid, random_phone(), "see attached", media))
    assert (await http.post(SMS_PATH, content=request.body, headers=request.headers)).is_success
    return (await interaction_result(client, "twilio", sid)).interaction_id


async def test_an_attachment_an_mms_image_and_a_recording_are_served_as_downloads(
    http: httpx.AsyncClient,
    client: Client,
    worker: Worker,
    store: Store,
    twilio: ProviderDouble,
    auth: dict[str, str],
) -> None:
    # An email with a PDF attachment: stored as a blob by the ingress.
    pdf = b"%PDF-1.7\n" + secrets.token_bytes(512)
    message_id = f"{secrets.token_hex(8)}@mail.example.com"
    attachment = ('invoice "1".pdf', "application/pdf", pdf)
    await post_email(http, PARSE, message_id, "kim@example.com", "Invoice", "see", [attachment])
    email_id = (await interaction_result(client, "sendgrid", message_id)).interaction_id
    served = await http.get(f"/api/interactions/{email_id}/media/0", headers=auth)
    assert served.status_code == 200 and served.content == pdf
    assert served.headers["content-type"] == "application/pdf"
    assert served.headers["x-content-type-options"] == "nosniff"
    disposition = served.headers["content-disposition"]
    # A download under its own name, which cannot break out of the header's quotes.
    assert disposition.startswith('attachment; filename="invoice _1_.pdf";'), disposition
    # Out of range: the raw email is kept with the interaction, but is no file of it.
    beyond = await http.get(f"/api/interactions/{email_id}/media/1", headers=auth)
    assert beyond.status_code == 404 and "no file 1" in beyond.json()["detail"]

    # An MMS: the image is copied from Twilio's API with the account's credentials.
    image = media_path(twilio_sid("MM"))
    twilio.files[image] = (JPEG, "image/jpeg")
    mms_id = await mms(http, client, [(image, "image/jpeg")])
    fetched = [r for r in twilio.requests if r.method == "GET" and r.path == image]
    assert fetched and fetched[0].headers["authorization"].startswith("Basic ")
    # Its redirect to Twilio's CDN (another origin) is followed without the credentials.
    cdn = [r for r in twilio.requests if r.path.startswith(CDN + image)]
    assert cdn and "authorization" not in cdn[0].headers
    twilio.files.pop(image)  # Twilio forgets it: the record does not depend on Twilio
    served = await http.get(f"/api/interactions/{mms_id}/media/0", headers=auth)
    assert served.status_code == 200 and served.content == JPEG
    assert served.headers["content-type"] == "image/jpeg"

    # A call's voicemail: the recording callback names it; it is copied too.
    call_sid, caller, recording = twilio_sid("CA"), random_phone(), recording_path()
    twilio.files[recording] = (WAV, "audio/x-wav")
    call = signed_twilio(VOICE_PATH, call_fields(call_sid, caller))
    assert (await http.post(VOICE_PATH, content=call.body, headers=call.headers)).is_success
    call_id = (await interaction_result(client, "twilio", call_sid)).interaction_id
    done = signed_twilio(RECORDING_PATH, recording_fields(call_sid, recording))
    assert (await http.post(RECORDING_PATH, content=done.body, headers=done.headers)).is_success
    await interaction_result(client, "twilio", f"{call_sid}:recording:{recording[-34:]}:completed")
    served = await http.get(f"/api/interactions/{call_id}/media/0", headers=auth)
    assert served.status_code == 200 and served.content == WAV
    assert served.headers["content-type"] == "audio/x-wav"

    # Every read is in the audit log, with its target and no content.
    audit = (await http.get("/api/audit", headers=auth)).json()["items"]
    reads = [e for e in audit if e["route"] == "/api/interactions/{interaction_id}/media/{index}"]
    assert {(e["target"], e["status"]) for e in reads} >= {
        (email_id, 200),
        (email_id, 404),
        (mms_id, 200),
        (call_id, 200),
    }


async def test_a_file_twilio_no_longer_has_is_recorded_and_the_message_stands(
    http: httpx.AsyncClient,
    client: Client,
    worker: Worker,
    store: Store,
    twilio: ProviderDouble,
    auth: dict[str, str],
) -> None:
    gone, flaky, huge = (media_path(twilio_sid("MM")) for _ in range(3))
    twilio.files[flaky] = (JPEG, "image/png")
    twilio.failures[flaky] = [503]  # retried with backoff, then copied
    twilio.files[huge] = (secrets.token_bytes(MAX_BYTES + 1), "image/jpeg")
    media = [(gone, "image/jpeg"), (flaky, "image/png"), (huge, "image/jpeg")]
    mms_id = await mms(http, client, media)
    stored = store.get_interaction(mms_id)
    assert stored is not None and stored.content.text == "see attached"
    missing = await http.get(f"/api/interactions/{mms_id}/media/0", headers=auth)
    assert missing.status_code == 404 and "Twilio answered 404" in missing.json()["detail"]
    copied = await http.get(f"/api/interactions/{mms_id}/media/1", headers=auth)
    assert copied.status_code == 200 and copied.content == JPEG
    too_large = await http.get(f"/api/interactions/{mms_id}/media/2", headers=auth)
    assert too_large.status_code == 404 and "larger than" in too_large.json()["detail"]


async def test_credentials_without_a_role_are_403_none_401_and_unknown_ids_404(
    http: httpx.AsyncClient, issuer: Issuer, auth: dict[str, str]
) -> None:
    path = "/api/interactions/00000000-0000-0000-0000-000000000000/media/0"
    assert (await http.get(path)).status_code == 401
    roleless = {"Authorization": f"Bearer {issuer.token(roles=['offline'])}"}
    refused = await http.get(path, headers=roleless)
    assert refused.status_code == 403, refused.text
    unknown = await http.get(path, headers=auth)
    assert unknown.status_code == 404 and unknown.json()["detail"] == "unknown interaction"
    assert (await http.get(path.replace("/0", "/-1"), headers=auth)).status_code == 422
