"""copy_media: an interaction's files at Twilio (MMS media, a recording) into the blob store.

Twilio keeps them only while the account does; the copy makes the record independent of it.
Which files to copy is read from the store (`media`), never taken from the workflow's input.
"""

from __future__ import annotations

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from switchboard.blobs import BlobStore
from switchboard.contract import COPY_MEDIA, CopyMediaInput, CopyMediaResult
from switchboard.store.media import MediaStore
from switchboard.twilio_files import FileGone, TwilioFiles

NOT_CONFIGURED = "Twilio account SID and auth token not configured"
# Twilio's media are sometimes not fetchable right after the webhook: a 404 is believed at the
# third attempt (after the retries' first two waits, 2 s and 4 s).
NOT_FOUND_ATTEMPTS = 3


class MediaActivities:
    """Built once in the worker with the store, the blobs and the account's Twilio files."""

    def __init__(
        self,
        media: MediaStore,
        blobs: BlobStore | None = None,
        twilio: TwilioFiles | None = None,
        max_bytes: int = 0,
    ) -> None:
        self.media = media
        self.blobs = blobs
        self.twilio = twilio
        self.max_bytes = max_bytes

    @activity.defn(name=COPY_MEDIA)
    def copy_media(self, inp: CopyMediaInput) -> CopyMediaResult:
        """Copy what is still only at Twilio; record what cannot be copied for good.

        Every file is tried in each attempt; one that failed for the moment (a 5xx, a 429, a
        lost connection, a 404 before the third attempt) makes the attempt fail at the end, to
        be retried with backoff; files copied or recorded by an earlier attempt are not fetched
        again.
        """
        copied = failed = 0
        later = 0
        for file in self.media.pending(inp.interaction_id):
            if self.twilio is None or self.blobs is None or file.source_url is None:
                self.media.failed(file, NOT_CONFIGURED)
                failed += 1
                continue
            try:
                fetched = self.twilio.fetch(file.source_url, self.max_bytes)
            except httpx.HTTPError as exc:
                activity.logger.info(
                    "%s of %s not copied yet: %s",
                    file.kind,
                    file.interaction_id,
                    type(exc).__name__,
                )
                later += 1
                continue
            except FileGone as exc:
                if exc.not_found and activity.info().attempt < NOT_FOUND_ATTEMPTS:
                    later += 1  # perhaps not fetchable yet, right after the webhook
                    continue
                activity.logger.warning(
                    "%s of %s not copied: %s", file.kind, file.interaction_id, exc
                )
                self.media.failed(file, str(exc))
                failed += 1
                continue
            ref = self.blobs.put(fetched.data)
            if self.media.copied(file, ref, fetched.content_type, len(fetched.data)):
                copied += 1
            elif not self.media.names(ref):
                # Erased while it was fetched: the copy must not outlive the customer.
                self.blobs.delete(ref)
        if later:
            raise ApplicationError(f"{later} file(s) not fetchable from Twilio yet")
        return CopyMediaResult(copied=copied, failed=failed)
