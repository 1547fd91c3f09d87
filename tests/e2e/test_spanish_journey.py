"""The whole supporter journey in Spanish, on a phone (390 px): discover → campaign → Ally
sign-on → confirmation email in Spanish → pledge with the card step in Spanish (localstripe) →
receipt in Spanish → take action. Every page is checked with axe."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from actions.models import Action
from campaigns.models import Campaign
from supporters.models import Supporter
from tests.actions.factories import ActionFactory, CallTargetFactory
from tests.conftest import screenshot
from tests.e2e.test_pledge_flow import PASSWORD, fill_card, serious_axe_violations
from tests.factories import CampaignFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def site_path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def check_page(page, name: str) -> None:
    assert page.locator("html").get_attribute("lang") == "es", page.url
    screenshot(page, f"es-journey-{name}-phone")
    assert serious_axe_violations(page) == [], (name, serious_axe_violations(page))


def test_a_spanish_reader_goes_from_discover_to_taking_action_in_spanish(
    live_server, phone_page, stripe_local, celery_eager
):
    page = phone_page
    campaign = CampaignFactory(
        title="Free the children", summary="English lede.", slug="libertad", goal_cents=500_000
    )
    Campaign.objects.filter(pk=campaign.pk).update(
        title_es="Liberen a los niños", summary_es="Ningún niño debe estar detenido."
    )
    action = ActionFactory(campaign=campaign, title="Call your senators")
    Action.objects.filter(pk=action.pk).update(
        title_es="Llama a tus senadores",
        why_it_matters_es="Cada llamada cuenta.",
        call_script_es="Me llamo {name} y mi código postal es {zip}.",
    )
    target = CallTargetFactory(action=action, name="Sen. Alex Padilla", position=0)

    # Discover, in Spanish.
    page.goto(f"{live_server.url}/es/")
    page.get_by_role("heading", name=re.compile("Respalda las campañas")).wait_for()
    check_page(page, "discover")
    page.get_by_role("link", name="Liberen a los niños").first.click()

    # The campaign page.
    page.wait_for_url(re.compile(r"/es/c/libertad/$"))
    assert "Ningún niño debe estar detenido." in page.inner_text("main")
    check_page(page, "campaign")
    page.get_by_role("link", name=re.compile("Súmate como Aliado")).first.click()

    # Ally sign-on.
    page.get_by_label("Tu nombre").fill("Dolores Huerta")
    page.get_by_label("Dirección de correo").fill("dolores@example.org")
    page.get_by_label("Código postal").fill("93215")
    check_page(page, "ally-sign-on")
    page.get_by_role("button", name="Súmate como Aliado").click()
    page.get_by_role("heading", name="Revisa tu correo").wait_for()
    check_page(page, "ally-check-email")

    # The confirmation email is in Spanish and links to the Spanish page.
    (message,) = [m for m in mail.outbox if "dolores@example.org" in m.to]
    assert message.subject == "[Rallyround] Confirma tu apoyo a Liberen a los niños"
    assert "Hola, Dolores Huerta:" in message.body
    link = re.search(r"https?://\S+(/es/c/libertad/support/ally/confirm/\S+/)", message.body)
    page.goto(live_server.url + link.group(1))
    check_page(page, "ally-confirm")
    page.get_by_role("button", name="Confirmar mi apoyo").click()
    page.get_by_role("heading", name=re.compile("Gracias")).wait_for()
    assert Supporter.objects.get(email="dolores@example.org").language == "es"

    # Pledge as an Advocate: the promise sentence and the card step in Spanish.
    page.goto(f"{live_server.url}/es/c/libertad/support/advocate/")
    promise = page.locator(".charge-promise")
    assert "Se te cobrarán $15 solo si esta campaña alcanza su meta" in promise.inner_text()
    page.locator("label.amount-chip", has_text="Otro").click()
    page.get_by_label("Otro monto (dólares estadounidenses)").fill("20")
    assert "Se te cobrarán $20" in promise.inner_text()
    page.get_by_label("Correo", exact=True).fill("dolores@example.org")
    page.get_by_label("Elige una contraseña").fill(PASSWORD)
    page.get_by_label("Nombre completo").fill("Dolores Huerta")
    page.get_by_label("Código postal").fill("93215")
    check_page(page, "pledge-form")
    page.get_by_role("button", name="Continuar a los datos de la tarjeta").click()

    # allauth's address check, in Spanish too.
    page.wait_for_url(re.compile(r"/es/accounts/confirm-email/$"))
    verify = next(m for m in reversed(mail.outbox) if "confirm-email" in m.body)
    assert "¡Hola de parte de Rallyround!" in verify.body  # allauth's email, in Spanish
    verify_path = re.search(r"https?://[^/\s]+(/es/accounts/confirm-email/\S+/)", verify.body)
    page.goto(live_server.url + verify_path.group(1))
    page.get_by_role("button", name="Confirmar").click()
    page.get_by_text("Tu dirección de correo quedó confirmada.").wait_for()
    page.get_by_role("button", name="Continuar a los datos de la tarjeta").click()
    page.wait_for_url(re.compile(r"/es/pledges/[^/]+/card/$"))
    page.locator("#card-element input[placeholder=number]").wait_for()
    assert "Guarda tu tarjeta" in page.inner_text("main")
    check_page(page, "card-step")
    fill_card(page, "4242424242424242")
    page.get_by_role("button", name="Guardar la tarjeta y prometer $20").click()
    page.get_by_text("¡Gracias! Tu promesa de donación está activa.").wait_for()
    check_page(page, "pledge-detail")

    # The receipt is in Spanish, with the deadline written in Spanish.
    receipt = next(m for m in reversed(mail.outbox) if "está registrada" in m.subject)
    assert receipt.subject.startswith("[Rallyround] Tu promesa de donación de $20")
    assert "Se te cobrarán $20 solo si esta campaña alcanza su meta a más tardar el" in (
        receipt.body
    )
    assert re.search(
        r"(lunes|martes|miércoles|jueves|viernes|sábado|domingo), \d+ de", receipt.body
    )

    # Take action.
    page.goto(f"{live_server.url}/es/c/libertad/act/")
    check_page(page, "actions")
    page.get_by_role("link", name="Llama a tus senadores").first.click()
    page.get_by_text("Cada llamada cuenta.").wait_for()
    check_page(page, "action")
    card = page.locator(f"#target-{target.pk}")
    card.get_by_label("Dejé un mensaje de voz").check()
    card.get_by_role("button", name=re.compile("Reportar mi llamada")).click()
    page.get_by_text("¡Gracias por llamar a Sen. Alex Padilla!").wait_for()
    check_page(page, "action-reported")
    assert site_path(page.url).startswith("/es/")


def test_the_language_switch_is_visible_and_remembered(live_server, page):
    campaign = CampaignFactory(title="Free the children", slug="libertad")
    Campaign.objects.filter(pk=campaign.pk).update(title_es="Liberen a los niños")
    page.goto(f"{live_server.url}/c/libertad/")
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_role("link", name="Español").click()
    page.wait_for_url(re.compile(r"/es/c/libertad/$"))
    page.get_by_role("heading", name="Liberen a los niños").wait_for()
    screenshot(page, "es-campaign-desktop")
    assert serious_axe_violations(page) == []
    # Remembered: the English address now opens the Spanish page.
    page.goto(f"{live_server.url}/c/libertad/")
    page.wait_for_url(re.compile(r"/es/c/libertad/$"))
    page.get_by_role("link", name="English").click()
    page.wait_for_url(re.compile(r"/c/libertad/$"))
    assert page.locator("html").get_attribute("lang") == "en"
    page.goto(f"{live_server.url}/c/libertad/")
    assert site_path(page.url) == "/c/libertad/"
