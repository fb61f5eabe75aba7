"""Whether an inbound email's From is verified, from the verdicts SendGrid Inbound Parse posts.

SendGrid checks SPF and DKIM and posts the results (`SPF`: one word; `dkim`: `{@d : result, …}`
or `none`; `envelope`: JSON with the return path in `from`). They are trusted only because the
post itself is authenticated (the Parse URL's basic auth). The From is verified when

- a DKIM signature passed for the From domain, or
- SPF passed and the envelope sender's domain is the From domain,

where "is the From domain" also admits a subdomain of it (`d=mail.example.com`, a bounce
domain `em1234.example.com` for `From: …@example.com`): any subdomain of a registrable domain
has that same organizational domain (DMARC's relaxed alignment, RFC 7489). The other half of
relaxed alignment, a signature by a parent (`d=example.co.uk` for `shop.example.co.uk`), needs
the Public Suffix List to tell `example.co.uk` from `co.uk`; without it such mail counts as a
claim (it is kept, on a customer of its own, never lost).
"""

from __future__ import annotations

import json
import re

# `@domain : result` pairs inside the braces; spaces around the colon vary.
_DKIM_PAIR = re.compile(r"@([^\s:,{}]+)\s*:\s*([a-z]+)", re.IGNORECASE)


def domain_of(address: str) -> str:
    """The domain of an address, lower-cased, without a trailing dot ('' if none)."""
    _, _, domain = address.rpartition("@")
    return domain.strip().strip(".").lower()


def aligned(domain: str, from_domain: str) -> bool:
    """Whether an authenticated domain counts for the From domain (see the module doc)."""
    return bool(domain and from_domain) and (
        domain == from_domain or domain.endswith("." + from_domain)
    )


def dkim_passes(dkim: str) -> list[str]:
    """The domains whose DKIM signature passed, from SendGrid's `dkim` field."""
    return [
        d.strip(".").lower() for d, result in _DKIM_PAIR.findall(dkim) if result.lower() == "pass"
    ]


def envelope_sender(envelope: str) -> str:
    """The return path from SendGrid's `envelope` field ('' when absent or not JSON)."""
    try:
        parsed = json.loads(envelope or "{}")
    except json.JSONDecodeError:
        return ""
    sender = parsed.get("from") if isinstance(parsed, dict) else None
    return sender if isinstance(sender, str) else ""


def sender_verified(from_address: str, spf: str, dkim: str, envelope: str) -> bool:
    """Whether the From is verified by an aligned DKIM pass or an aligned SPF pass."""
    from_domain = domain_of(from_address)
    if any(aligned(d, from_domain) for d in dkim_passes(dkim)):
        return True
    spf_pass = spf.strip().lower() == "pass"
    return spf_pass and aligned(domain_of(envelope_sender(envelope)), from_domain)
