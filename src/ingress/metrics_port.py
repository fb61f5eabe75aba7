"""`/metrics` on a port of its own, for a scraper on an internal network.

With `SWITCHBOARD_OPS_LOOPBACK_ONLY=1` the app's own `/metrics` answers loopback clients only,
so a Prometheus in another container (compose) could never scrape it, and the alerts that
read the ingress's series could never fire. This port serves the same registry and nothing
else; it is bound where `SWITCHBOARD_INGRESS_METRICS_HOST` says and is never published.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import start_http_server


def serve(host: str, port: int) -> Callable[[], None]:
    """Serve the process's metrics on `host:port` in a thread; returns what stops it."""
    server, thread = start_http_server(port, addr=host)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(5)

    return stop
