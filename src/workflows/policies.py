"""The timeouts and retry policies of the workflows' activities, shared.

Each value is written into the histories of the activities that use it (a scheduled activity
carries its timeouts and retry policy; a local activity's marker its attempts), and a retry
policy decides what a running workflow does next: change one on purpose, never in passing.
"""

from datetime import timedelta

from temporalio.common import RetryPolicy

# CPU-only steps (normalize, route) and the signal that hands an interaction on: no I/O to wait
# for beyond one call.
LOCAL_TIMEOUT = timedelta(seconds=10)

# Steps that touch the store. It may be locked or unreachable for a while: keep retrying,
# backing off to 30 s, until it is back.
STORE_TIMEOUT = timedelta(seconds=30)
STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
)

# A callback (a recording, a status) whose interaction is not stored yet: dedupe fails at once
# with AwaitingInteraction (other store errors retry as above) and the workflow waits on timers,
# 1 s doubling to 5 minutes, until its interaction arrives or the orphan wait is over.
# A store step's first attempt once the customer is known (`InteractionWorkflow._step`).
ONE_ATTEMPT = RetryPolicy(maximum_attempts=1)
AWAITING_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=["AwaitingInteraction"],
)
ORPHAN_MAX_DELAY = timedelta(minutes=5)

# An agent waits for the answer: a few quick attempts, then the update fails with the reason.
SEND_TIMEOUT = timedelta(seconds=20)
SEND_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3)

# The analytics steps (stage, validate, publish, purge) work through files and whole tables: long
# attempts, a few of them, each a minute apart at most.
ANALYTICS_TIMEOUT = timedelta(minutes=30)
ANALYTICS_RETRY = RetryPolicy(maximum_attempts=5, maximum_interval=timedelta(minutes=1))

# Events out: one delivery attempt, above the HTTP timeout (the activity itself turns a slow
# receiver into a failed attempt); its retries are for our own troubles (the store locked).
DELIVERY_ATTEMPT_TIMEOUT = timedelta(seconds=120)

# Copying an interaction's files from Twilio: a download per attempt, retried with backoff for
# about an hour (Twilio's throttling and outages pass); what is gone for good (404, too large)
# is recorded by the activity, not retried.
MEDIA_TIMEOUT = timedelta(minutes=5)
MEDIA_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=15,
)
