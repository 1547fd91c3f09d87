"""Only pledges/gateway.py talks to Stripe: the lint (ruff TID251, configured in pyproject.toml)
refuses `import stripe` anywhere else in the product code, so the boundary cannot erode quietly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUFF = Path(sys.executable).with_name("ruff")


def lint(source: str, as_path: str) -> subprocess.CompletedProcess:
    """Lint `source` as if it were the file `as_path`, with the project's configuration."""
    return subprocess.run(
        [str(RUFF), "check", "--no-cache", "--select", "TID251", "--stdin-filename", as_path, "-"],
        input=source,
        text=True,
        capture_output=True,
        cwd=ROOT,
        timeout=60,
    )


@pytest.mark.parametrize(
    "as_path",
    ["campaigns/services.py", "pledges/services/settlement.py", "pledges/webhooks.py"],
)
@pytest.mark.parametrize("line", ["import stripe", "from stripe import StripeClient"])
def test_importing_stripe_outside_the_gateway_fails_the_lint(as_path, line):
    result = lint(f"{line}\n", as_path)
    assert result.returncode == 1
    assert "TID251" in result.stdout
    assert "pledges/gateway.py" in result.stdout  # the message says where to go instead


def test_the_gateway_may_import_stripe():
    assert lint("import stripe\n", "pledges/gateway.py").returncode == 0


def test_no_product_module_imports_stripe_today():
    result = subprocess.run(
        [str(RUFF), "check", "--no-cache", "--select", "TID251", "."],
        text=True,
        capture_output=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout
