"""Do from a test what Stripe.js does in the supporter's browser (against localstripe).

localstripe's Stripe.js confirms a SetupIntent by POSTing JSON to
`/v1/setup_intents/<id>/confirm` with the publishable key and the client secret; doing the same
here exercises the server exactly as the browser would, without a browser.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

CARD_OK = "4242424242424242"
CARD_3DS = "4000002760003184"
CARD_DECLINED_AT_SETUP = "4000000000009995"


def _post(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read() or b"{}")


def confirm_card_setup(
    localstripe_url: str, client_secret: str, number: str = CARD_OK, authenticate: bool = True
) -> dict:
    """Confirm like `stripe.confirmCardSetup`; for a 3-D Secure card, also press "Complete
    authentication" (or "Fail authentication" when `authenticate` is False)."""
    seti = client_secret.split("_secret_")[0]
    base = f"{localstripe_url}/v1/setup_intents/{seti}"
    common = {"key": "pk_test_rallyround", "use_stripe_sdk": True, "client_secret": client_secret}
    body = _post(
        f"{base}/confirm",
        {
            **common,
            "payment_method_data": {
                "type": "card",
                "card": {"number": number, "exp_month": "12", "exp_year": "2034", "cvc": "123"},
                "billing_details": {"address": {"postal_code": "94609"}},
            },
        },
    )
    if body.get("status") == "requires_action":
        body = _post(f"{base}/confirm" if authenticate else f"{base}/cancel", common)
    return body


def stripe_object(localstripe_url: str, path: str) -> dict:
    """Read an object straight from localstripe, as an operator would in Stripe's dashboard."""
    req = urllib.request.Request(
        f"{localstripe_url}{path}", headers={"Authorization": "Bearer sk_test_rallyround"}
    )
    with urllib.request.urlopen(req, timeout=10) as response:
        return json.loads(response.read())
