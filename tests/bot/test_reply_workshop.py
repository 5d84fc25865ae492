"""Which workshop a reply is about: the one its question asked about, else the next one ahead."""

import re
from datetime import timedelta

from sqlalchemy import select

from bot.dashboard.queries import recent_replies
from bot.db import repo
from bot.db.models import Enrollment, Message, Returnee, User, Workshop
from bot.effects import Turn
from bot.ports import InboundMessage
from bot.services import Services
from tests.bot.webapp import add_user, api_token, client, sign_in
from tests.builders import make_enrollment, make_returnee, make_workshop
from tests.conftest import FIXED_NOW

ADMIN = User(email="admin@example.org", role="admin")


async def three_workshops(services: Services) -> tuple[Returnee, list[Enrollment]]:
    """Awa in a workshop over yesterday, one in five days and one in twelve."""
    async with services.unit_of_work() as db:
        awa = await make_returnee(db, now=FIXED_NOW, country="SN", language="fr")
        enrollments = []
        for days, title in ((-1, "Passé"), (5, "Prochain"), (12, "Suivant")):
            workshop = await make_workshop(
                db, now=FIXED_NOW, starts_in=timedelta(days=days), title=title
            )
            enrollments.append(await make_enrollment(db, workshop, awa, now=FIXED_NOW))
    return awa, enrollments


async def test_a_new_flow_is_about_the_soonest_workshop_not_over(services: Services) -> None:
    awa, (_, soon, later) = await three_workshops(services)
    async with services.unit_of_work() as db:
        assert (await repo.next_enrollment(db, awa.id, now=FIXED_NOW)).id == soon.id
        in_a_week = FIXED_NOW + timedelta(days=7)
        assert (await repo.next_enrollment(db, awa.id, now=in_a_week)).id == later.id
        in_a_month = FIXED_NOW + timedelta(days=30)  # all over: the last one
        assert (await repo.next_enrollment(db, awa.id, now=in_a_month)).id == later.id


async def test_a_reply_belongs_to_the_workshop_its_question_was_about(services: Services) -> None:
    awa, (_, _, later) = await three_workshops(services)
    async with services.unit_of_work() as db:
        returnee = await repo.returnee(db, awa.id)
        assert returnee is not None
        turn = Turn(now=FIXED_NOW, key="t", purpose="invitation", enrollment_id=later.id)
        fields = {"enrollment_id": str(later.id)}
        await services.conversations.start_flow(
            db, returnee, "invitation", turn=turn, fields=fields
        )
    assert awa.phone is not None
    answer = InboundMessage(channel="sms", address=awa.phone, text="oui")
    await services.conversations.handle(answer, now=FIXED_NOW + timedelta(minutes=1))
    aside = InboundMessage(channel="sms", address=awa.phone, text="bonne journée")
    await services.conversations.handle(aside, now=FIXED_NOW + timedelta(minutes=2))

    async with services.unit_of_work() as db:
        stored = (
            await db.execute(
                select(Message.text, Message.enrollment_id)
                .where(Message.direction == "in")
                .order_by(Message.id)
            )
        ).all()
        assert stored == [("oui", later.id), ("bonne journée", None)]
        rows = await recent_replies(db, ADMIN, now=FIXED_NOW)
        statuses = {
            w.title: e.status
            for e, w in (
                await db.execute(
                    select(Enrollment, Workshop).join(
                        Workshop, Workshop.id == Enrollment.workshop_id
                    )
                )
            ).all()
        }
    assert statuses == {"Passé": "invited", "Prochain": "invited", "Suivant": "confirmed"}
    # newest first: the aside shows the next workshop, the answer the one it answered
    assert [(r.text, r.workshop, r.enrollment_status) for r in rows] == [
        ("bonne journée", "Prochain", "invited"),
        ("oui", "Suivant", "confirmed"),
    ]
    headers = await api_token(services)
    async with client(services) as http:
        listed = await http.get(f"/api/v1/returnees/{awa.id}/messages", headers=headers)
    inbound = [(m["text"], m["enrollment_id"]) for m in listed.json() if m["direction"] == "in"]
    assert inbound == [("oui", later.id), ("bonne journée", None)]
    await add_user(services, "admin@example.org", role="admin")
    async with client(services) as http:
        await sign_in(http, "admin@example.org")
        page = (await http.get(f"/returnees/{awa.id}")).text
    tagged = re.findall(r'<span class="workshop" dir="auto">([^<]*)</span>', page)
    # the invitation, its answer and the thanks; not the aside nor what answered it
    assert tagged == ["Suivant"] * 3
