"""Whether an inbound email's From is verified, on SendGrid's recorded verdict cases."""

from __future__ import annotations

import pytest

from switchboard.providers import email_auth
from tests.support.fixtures import load_fixture

CASES = {k: v for k, v in load_fixture("sendgrid_inbound_verdicts.json").items() if k != "_meta"}
# The one case the reference evaluator (with the Public Suffix List) authenticates and we do
# not: a signature by the From domain's parent, which needs the list to tell from a suffix.
PARENT_SIGNATURE = {"multi_label_suffix"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_verdicts_verify_the_sender_as_relaxed_alignment_does(name: str) -> None:
    fields, expected = CASES[name]["fields"], CASES[name]["expected"]
    verified = email_auth.sender_verified(
        fields["from"].rpartition("<")[2].rstrip(">"),
        fields["SPF"],
        fields["dkim"],
        fields["envelope"],
    )
    authenticated = expected["verdict"] == "authenticated"
    assert verified is (authenticated and name not in PARENT_SIGNATURE)


def test_signatures_are_read_in_every_spelling_sendgrid_posts() -> None:
    assert email_auth.dkim_passes("{@A.COM:pass}") == ["a.com"]
    assert email_auth.dkim_passes("{@a.com : fail, @b.com : pass}") == ["b.com"]
    assert email_auth.dkim_passes("none") == []
    assert email_auth.envelope_sender("not json") == ""
    # A lookalike domain is not a subdomain.
    assert not email_auth.sender_verified(
        "a@example.com", "pass", "", '{"from": "x@badexample.com"}'
    )
    assert not email_auth.sender_verified("a@example.com", "fail", "{@evil.test : pass}", "")
