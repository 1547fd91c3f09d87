"""Demo bills and resources for the demo campaign (called by `actions.demo.demo_actions_seed`),
modelled on the reference pages: a bill to urge representatives to support, one to oppose,
and the hotlines and legal aid the "ways to help" page lists, each in English and Spanish (the
bills' numbers and official titles stay in English).

The bills are the ones the reference page names (115th Congress); their status and dates are
demo content, not a record to rely on: check congress.gov before using them in a campaign.
"""

from __future__ import annotations

import datetime as dt

from actions.models import Action
from campaigns.models import Campaign
from congress.models import Bill, BillStatusChange, CampaignResource

KEY_MESSAGES = "\n".join(
    [
        "Protect children's rights: keep every existing protection for immigrant children and "
        "families. Protections are not loopholes.",
        "Give children the chance to tell their experiences, and hear their claims to refugee "
        "status.",
        "Set standards for the humane treatment of children and families in Customs and Border "
        "Protection custody.",
        "This is a crisis of leadership, not of insufficient resources.",
    ]
)

BILLS = [
    {
        "number": "H.R. 6128",
        "title": "Help Separated Families Act",
        "chamber": Bill.Chamber.HOUSE,
        "status": Bill.Status.COMMITTEE,
        "status_date": dt.date(2018, 6, 19),
        "our_position": "support",
        "text_url": "https://www.congress.gov/bill/115th-congress/house-bill/6128/text",
        "what_it_would_do": (
            "Immigration status alone would no longer disqualify a parent or relative from "
            "caring for their child: it would slow the family separations that placed more than "
            "5,100 children in the child welfare system, and help separated families stay "
            "together while they go through the immigration process."
        ),
        "what_it_would_do_es": (
            "La situación migratoria por sí sola ya no impediría que un padre, una madre o un "
            "familiar cuide de su hijo: frenaría las separaciones que llevaron a más de 5.100 "
            "niños al sistema de protección infantil y ayudaría a las familias separadas a "
            "seguir juntas durante su proceso migratorio."
        ),
    },
    {
        "number": "H.R. 1932",
        "title": "Keep Our Communities Safe Act",
        "chamber": Bill.Chamber.HOUSE,
        "status": Bill.Status.COMMITTEE,
        "status_date": dt.date(2011, 5, 19),
        "our_position": "oppose",
        "text_url": "https://www.congress.gov/bill/112th-congress/house-bill/1932/text",
        "what_it_would_do": (
            "It would allow the prolonged, even permanent, detention of vulnerable migrants "
            "without meaningful review by a judge. We ask Congress to stand up for equality "
            "under the law for all people."
        ),
        "what_it_would_do_es": (
            "Permitiría la detención prolongada, incluso permanente, de migrantes vulnerables "
            "sin una revisión real por parte de un juez. Pedimos al Congreso que defienda la "
            "igualdad ante la ley para todas las personas."
        ),
    },
]

RESOURCES = [
    {
        "kind": CampaignResource.Kind.HOTLINE,
        "title": "UN Refugee Agency (UNHCR) detention hotline",
        "phone": "1-888-272-1913",
        "phone_note": "From inside a detention center, dial 566#",
        "description": "Legal help for refugees held in immigration detention.",
        "title_es": "Línea de ayuda para personas detenidas de la Agencia de la ONU para los "
        "Refugiados (ACNUR)",
        "phone_note_es": "Desde un centro de detención, marque 566#",
        "description_es": "Ayuda legal para refugiados en detención migratoria.",
        "url": "https://www.unhcr.org/us/",
    },
    {
        "kind": CampaignResource.Kind.LEGAL,
        "title": "American Immigration Lawyers Association (AILA)",
        "description": "Find an immigration lawyer near you through AILA's lawyer search.",
        "title_es": "Asociación Estadounidense de Abogados de Inmigración (AILA)",
        "description_es": "Encuentre un abogado de inmigración cerca de usted con el buscador "
        "de AILA.",
        "url": "https://www.ailalawyer.com/",
    },
    {
        "kind": CampaignResource.Kind.HELP,
        "title": "Families separated at the border between July 2017 and June 2018",
        "description": (
            "Toll-free numbers reach the court-appointed Steering Committee that helps separated "
            "families find each other and learn their rights."
        ),
        "title_es": "Familias separadas en la frontera entre julio de 2017 y junio de 2018",
        "description_es": (
            "Las líneas gratuitas comunican con el Comité Directivo nombrado por el tribunal, "
            "que ayuda a las familias separadas a reencontrarse y a conocer sus derechos."
        ),
        "url": "https://www.aclu.org/issues/immigrants-rights/immigrants-rights-and-detention/family-separation",
    },
]


def congress_demo_seed(*, campaign: Campaign, call_action: Action | None, created: list[str]):
    """Attach the demo bills (the first to the call action) and resources, once."""
    for i, spec in enumerate(BILLS):
        if Bill.objects.filter(campaign=campaign, number=spec["number"]).exists():
            continue
        bill = Bill(campaign=campaign, position=i, **spec)
        bill.full_clean(exclude=["actions", "sponsors"])
        bill.save()
        BillStatusChange.objects.create(
            bill=bill, to_status=bill.status, status_date=bill.status_date
        )
        if call_action is not None and i == 0:
            bill.actions.add(call_action)
        created.append(f"bill {bill.number}")
    if not CampaignResource.objects.filter(campaign=campaign).exists():
        for i, spec in enumerate(RESOURCES):
            resource = CampaignResource(campaign=campaign, position=i, **spec)
            resource.full_clean()
            resource.save()
            created.append(f"resource {resource.title}")
