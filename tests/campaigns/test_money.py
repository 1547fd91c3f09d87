"""Money is shown through one formatter, and never without its currency."""

from __future__ import annotations

import pytest
from django.template import Context, Template, TemplateSyntaxError

from campaigns.templatetags.rallyround import money


def test_money_is_written_with_its_currency():
    assert money(150000, "usd") == "$1,500"
    assert money(1234567, "usd") == "$12,345.67"
    assert money(None, "usd") == ""


def test_a_template_cannot_show_an_amount_without_its_currency():
    with pytest.raises(TemplateSyntaxError):
        Template("{% load rallyround %}{{ cents|money }}")
    shown = Template("{% load rallyround %}{{ cents|money:currency }}").render(
        Context({"cents": 2500, "currency": "usd"})
    )
    assert shown == "$25"


def test_python_callers_must_name_the_currency():
    with pytest.raises(TypeError):
        money(2500)  # type: ignore[call-arg]
