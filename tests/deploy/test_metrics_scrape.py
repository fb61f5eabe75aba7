"""Compose's Prometheus scrapes the ingress on its metrics port, from another container, while
the app's own /metrics stays closed to everyone but loopback; and what it scrapes there is what
fires the ingress's alerts (`promtool test rules` over the very label sets scraped)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from ingress import create_app
from ingress.metrics_port import serve
from switchboard.store import Store
from tests.support.builders import signed_sms
from tests.support.keys import KEYRING
from tests.support.processes import free_port
from tests.support.settings import ingress_settings

ROOT = Path(__file__).parents[2]
PROMETHEUS = "10.0.0.9"  # the Prometheus container, as the ingress sees it
SMS = "/webhooks/twilio/sms"


async def scrape_after_forged_and_unavailable_webhooks(tmp_path: Path) -> str:
    store = Store.from_url(f"sqlite:///{tmp_path / 'switchboard.db'}")
    store.migrate()
    # As in compose: ops endpoints loopback-only; Temporal down, so a signed SMS is a 503.
    settings = ingress_settings(
        "scrape",
        ops_loopback_only=True,
        data_dir=tmp_path,
        temporal_address=f"127.0.0.1:{free_port()}",
    )
    app = create_app(settings, KEYRING, store=store)
    port = free_port()
    stop = serve("127.0.0.1", port)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=(PROMETHEUS, 40000))
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                _, forged = signed_sms(token="not-the-auth-token")
                assert (
                    await http.post(SMS, content=forged.body, headers=forged.headers)
                ).status_code == 403
                _, signed = signed_sms()
                assert (
                    await http.post(SMS, content=signed.body, headers=signed.headers)
                ).status_code == 503
                # The problem this port solves: the app's /metrics is closed to Prometheus.
                assert (await http.get("/metrics")).status_code == 404
        async with httpx.AsyncClient() as scraper:
            scraped = await scraper.get(f"http://127.0.0.1:{port}/metrics")
        assert scraped.status_code == 200
        return scraped.text
    finally:
        stop()
        store.close()


def series(text: str) -> list[str]:
    """The scraped series the ingress's alerts read, as Prometheus stores them."""
    found = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = dict(sample.labels)
            wanted = (
                sample.name == "switchboard_signature_failures_total"
                and labels.get("provider") == "twilio"
            ) or (
                sample.name == "switchboard_http_requests_total"
                and labels.get("route") == SMS
                and labels.get("status") in {"403", "503"}
            )
            if wanted:
                labels |= {"job": "switchboard-ingress", "instance": "ingress:9464"}
                rendered = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
                found.append(f"{sample.name}{{{rendered}}}")
    return found


async def test_the_ingress_alerts_fire_on_what_prometheus_scrapes_from_the_metrics_port(
    tmp_path: Path,
) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed: `make test` installs Debian's prometheus")
    scraped = series(await scrape_after_forged_and_unavailable_webhooks(tmp_path))
    assert len(scraped) == 3, scraped
    at = "25m"
    tests = {
        "rule_files": [str(ROOT / "deploy" / "prometheus" / "alerts.yml")],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [{"series": s, "values": "0+5x30"} for s in scraped],
                "alert_rule_test": [
                    {
                        "eval_time": at,
                        "alertname": "SignatureFailuresRising",
                        "exp_alerts": [
                            {
                                "exp_labels": {"severity": "warning", "provider": "twilio"},
                                "exp_annotations": {
                                    "summary": "twilio webhooks refused for their signature "
                                    "(50 in 10 min)"
                                },
                            }
                        ],
                    },
                    {
                        "eval_time": at,
                        "alertname": "WebhooksUnavailable",
                        "exp_alerts": [
                            {
                                "exp_labels": {"severity": "critical"},
                                "exp_annotations": {
                                    "summary": "the ingress answers 503 to webhooks: "
                                    "Temporal unavailable"
                                },
                            }
                        ],
                    },
                ],
            }
        ],
    }
    path = tmp_path / "scraped.test.yml"
    path.write_text(yaml.safe_dump(tests))
    result = subprocess.run(
        [promtool, "test", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_prometheus_scrapes_the_ingress_on_its_metrics_port() -> None:
    config = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    [target] = jobs["switchboard-ingress"]["dns_sd_configs"]
    assert target["names"] == ["ingress"] and target["port"] == 9464
