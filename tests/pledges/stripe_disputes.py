"""Disputes for tests: localstripe has none, and the webhook handlers re-read every dispute from
Stripe (never trusting the payload), so this small proxy answers `GET /v1/disputes/<id>` from
the test's own table and forwards every other request, unchanged, to stripe-chaos/localstripe.

Use the `stripe_disputes` fixture (after `chaos`): `stripe_disputes.put(pledge, "dp_1",
status="needs_response")` is what the bank did; the returned dict is the event payload Stripe
would send.
"""

from __future__ import annotations

import http.server
import json
import threading
import urllib.error
import urllib.request

import pytest


class _Handler(http.server.BaseHTTPRequestHandler):
    disputes: dict[str, dict] = {}
    upstream = ""

    def log_message(self, format, *args):  # noqa: A002 - silence the default log
        pass

    def _forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in {"host"}}
        request = urllib.request.Request(
            self.upstream + self.path, data=body, headers=headers, method=self.command
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - test proxy
                status, out, out_headers = answer.status, answer.read(), answer.headers
        except urllib.error.HTTPError as err:
            status, out, out_headers = err.code, err.read(), err.headers
        self.send_response(status)
        for key, value in out_headers.items():
            if key.lower() not in {"transfer-encoding", "connection", "content-length"}:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def do_GET(self):
        path = self.path.split("?")[0]
        if path.startswith("/v1/disputes/"):
            found = self.disputes.get(path.rsplit("/", 1)[1])
            status, payload = (
                (200, found)
                if found
                else (
                    404,
                    {
                        "error": {
                            "type": "invalid_request_error",
                            "code": "resource_missing",
                            "message": "No such dispute",
                        }
                    },
                )
            )
            out = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
            return
        self._forward()

    do_POST = _forward
    do_DELETE = _forward


class StripeDisputes:
    def __init__(self, table: dict[str, dict]):
        self.table = table

    def put(self, pledge, dispute_id: str, *, status: str, amount: int | None = None) -> dict:
        """Stripe now holds this dispute on the pledge's payment; returns it as Stripe would."""
        dispute = {
            "id": dispute_id,
            "object": "dispute",
            "payment_intent": pledge.stripe_payment_intent_id,
            "charge": "",
            "amount": pledge.amount_cents if amount is None else amount,
            "currency": "usd",
            "reason": "general",
            "status": status,
        }
        self.table[dispute_id] = dispute
        return dict(dispute)


@pytest.fixture(name="stripe_disputes")
def stripe_disputes_fixture(chaos, settings):
    from pledges import gateway

    handler = type("DisputeHandler", (_Handler,), {"disputes": {}, "upstream": chaos.url})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{server.server_address[1]}"
    gateway.reset_client()
    yield StripeDisputes(handler.disputes)
    server.shutdown()
    server.server_close()
    gateway.reset_client()
