"""Domain errors. No web framework or Temporal imports: each edge maps them to its own terms."""


class MalformedPayload(ValueError):
    """A provider payload that can never be processed, however often it is retried."""
