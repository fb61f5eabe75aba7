"""The ingress (FastAPI): verify, parse, start, answer. Webhooks, the API and health checks."""

from ingress.app import create_app

__all__ = ["create_app"]
