"""Files Twilio keeps for the account (MMS media, call recordings): fetched and deleted.

A webhook names them by URL (`MediaUrl{N}`, `RecordingUrl`). Only the path of such a URL is
used, and only when it is a Media or Recording resource of the account: the request goes to
`SWITCHBOARD_TWILIO_API_BASE_URL` (Twilio's API by default) with the account's credentials,
never to whatever host the URL names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from switchboard.settings import CommonSettings

DEFAULT_API_BASE = "https://api.twilio.com"
_RESOURCE = re.compile(
    r"/2010-04-01/Accounts/(?P<account>AC[0-9a-fA-F]{32})/"
    r"(?:Messages/MM[0-9a-fA-F]{32}/Media/ME[0-9a-fA-F]{32}|Recordings/RE[0-9a-fA-F]{32})"
)
_CHUNK = 64 * 1024


class FileGone(Exception):
    """The file cannot be fetched, now or later (404, refused credentials, too large): the
    reason names no URL or value. A 404 (`not_found`) may also mean "not yet": Twilio's
    media are sometimes not fetchable right after the webhook."""

    def __init__(self, reason: str, not_found: bool = False) -> None:
        super().__init__(reason)
        self.not_found = not_found


@dataclass(frozen=True)
class Fetched:
    data: bytes
    content_type: str | None


def resource_path(url: str, account_sid: str | None = None) -> str | None:
    """The API path of a Media or Recording resource of the account; None for anything else."""
    path = urlsplit(url).path
    for suffix in (".json", ".wav", ".mp3"):
        path = path.removesuffix(suffix)
    found = _RESOURCE.fullmatch(path)
    if found is None or (account_sid and found["account"] != account_sid):
        return None
    return path


class TwilioFiles:
    """The account's files at Twilio, reached with its credentials (built once per process)."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        base_url: str | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self.account_sid = account_sid
        self.base_url = (base_url or DEFAULT_API_BASE).rstrip("/")
        self._auth = (account_sid, auth_token)
        self._timeout = timeout_s

    def fetch(self, url: str, max_bytes: int) -> Fetched:
        """The file's bytes, read up to `max_bytes`; `FileGone` when it cannot be had for good,
        `httpx.HTTPError` (retried by the caller) for what may pass."""
        path = self._path(url)
        # Twilio answers with a redirect to a short-lived CDN URL: followed, and httpx drops
        # the credentials on the way to another origin.
        with (
            httpx.Client(
                auth=self._auth, timeout=self._timeout, follow_redirects=True, max_redirects=3
            ) as http,
            http.stream("GET", self.base_url + path) as response,
        ):
            if response.status_code in (429,) or response.status_code >= 500:
                response.raise_for_status()
            if response.status_code != 200:
                raise FileGone(
                    f"Twilio answered {response.status_code}", not_found=response.status_code == 404
                )
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise FileGone(f"larger than {max_bytes} bytes")
            data = bytearray()
            for chunk in response.iter_bytes(_CHUNK):
                data += chunk
                if len(data) > max_bytes:
                    raise FileGone(f"larger than {max_bytes} bytes")
            content_type = response.headers.get("content-type")
        return Fetched(bytes(data), content_type.split(";")[0].strip() if content_type else None)

    def delete(self, url: str) -> bool:
        """Delete the file at Twilio; True once it is gone (also when it was already)."""
        try:
            path = self._path(url)
        except FileGone:
            return False
        try:
            with httpx.Client(auth=self._auth, timeout=self._timeout) as http:
                response = http.delete(f"{self.base_url}{path}.json")
        except httpx.HTTPError:
            return False
        return response.status_code in (204, 404)

    def _path(self, url: str) -> str:
        path = resource_path(url, self.account_sid)
        if path is None:
            raise FileGone("not a Media or Recording resource of the account")
        return path


def from_settings(settings: CommonSettings) -> TwilioFiles | None:
    """The account's files, when its SID and auth token are configured."""
    if not (settings.twilio_account_sid and settings.twilio_auth_token):
        return None
    token = settings.twilio_auth_token.get_secret_value().split(",")[0].strip()
    return TwilioFiles(settings.twilio_account_sid, token, settings.twilio_api_base_url)
