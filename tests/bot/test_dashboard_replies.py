"""A reply by hand on the timeline outside WhatsApp's 24-hour window: the approved template, or
SMS, each an explicit choice; otherwise a call."""

import re
from datetime import timedelta

from sqlalchemy import select

from bot.clock import utcnow
from bot.db.models import Address, AuditEvent, Message, OutboxItem
from bot.services import Services
from tests.bot.test_dashboard_support import AMINA, build_world, signed_in

SID = "HX" + "b" * 32
WORDING = "Bonjour {{1}}, votre conseiller vous écrit : {{2}}"
DISABLED = re.compile(r"<textarea name=\"text\" rows=\"3\"[^>]* disabled>")


def with_template(services: Services, *, text: str | None = WORDING) -> None:
    """Configure the approved template for manual replies in Arabic (Sami's language)."""
    services.outbox.templates = {("manual", "ar"): SID}
    services.template_texts = {("manual", "ar"): text} if text else {}


async def manual_messages(services: Services) -> list[tuple[str, str]]:
    async with services.unit_of_work() as db:
        rows = await db.execute(
            select(Message.channel, OutboxItem.channel)
            .join(OutboxItem, OutboxItem.message_id == Message.id)
            .where(Message.purpose == "manual")
            .order_by(Message.id)
        )
        return [(m, o) for m, o in rows.all()]


async def test_outside_the_window_the_approved_template_is_offered(services: Services) -> None:
    world = await build_world(services)  # a2 (Sami) writes on WhatsApp and never wrote
    with_template(services)
    async with signed_in(services, AMINA) as amina:
        page = (await amina.http.get(f"/returnees/{world.a2}")).text
        assert 'id="reply-window"' in page
        assert 'name="as_template" value="1" required' in page
        assert 'name="by_sms"' not in page  # the template comes first
        assert "Bonjour Sami, votre conseiller vous écrit : …" in page
        assert not DISABLED.search(page)
        refused = await amina.post(f"/returnees/{world.a2}/reply", {"text": "Rappelez-moi"})
        assert refused.status_code == 409  # not ticked: no silent template
        sent = await amina.post(
            f"/returnees/{world.a2}/reply", {"text": "Rappelez-moi", "as_template": "1"}
        )
        assert sent.status_code == 303
    assert await manual_messages(services) == [("whatsapp", "whatsapp")]
    async with services.unit_of_work() as db:
        details = (
            await db.execute(select(AuditEvent.detail).where(AuditEvent.action == "manual_reply"))
        ).scalars()
        assert [d.split(" ", 1)[1] for d in details] == ["whatsapp template"]


async def test_a_template_of_unknown_wording_is_offered_without_it(services: Services) -> None:
    world = await build_world(services)
    with_template(services, text=None)
    async with signed_in(services, AMINA) as amina:
        page = (await amina.http.get(f"/returnees/{world.a2}")).text
    assert 'name="as_template"' in page
    assert 'id="template-preview"' not in page


async def test_without_a_template_sms_is_offered_then_free_text_inside(services: Services) -> None:
    world = await build_world(services)  # no template configured
    async with signed_in(services, AMINA) as amina:
        page = (await amina.http.get(f"/returnees/{world.a2}")).text
        assert 'id="reply-window"' in page
        assert 'name="by_sms" value="1" required' in page
        assert 'name="as_template"' not in page
        refused = await amina.post(f"/returnees/{world.a2}/reply", {"text": "Bonjour"})
        assert refused.status_code == 409
        forged = await amina.post(
            f"/returnees/{world.a2}/reply", {"text": "Bonjour", "as_template": "1"}
        )
        assert forged.status_code == 409  # there is no template to send
        by_sms = await amina.post(
            f"/returnees/{world.a2}/reply", {"text": "Bonjour", "by_sms": "1"}
        )
        assert by_sms.status_code == 303
        async with services.unit_of_work() as db:
            whatsapp = (
                await db.execute(
                    select(Address).where(
                        Address.returnee_id == world.a2, Address.channel == "whatsapp"
                    )
                )
            ).scalar_one()
            whatsapp.last_inbound_at = utcnow() - timedelta(hours=2)
        page = (await amina.http.get(f"/returnees/{world.a2}")).text
        assert 'id="reply-window"' not in page
        assert 'name="by_sms"' not in page
        inside = await amina.post(f"/returnees/{world.a2}/reply", {"text": "Merci"})
        assert inside.status_code == 303
    assert await manual_messages(services) == [("sms", "sms"), ("whatsapp", "whatsapp")]


async def test_without_a_template_or_sms_the_page_says_to_call(services: Services) -> None:
    world = await build_world(services)
    async with services.unit_of_work() as db:
        sms = (
            await db.execute(
                select(Address).where(Address.returnee_id == world.a2, Address.channel == "sms")
            )
        ).scalar_one()
        sms.opted_out = True
    async with signed_in(services, AMINA) as amina:
        page = (await amina.http.get(f"/returnees/{world.a2}")).text
        assert 'id="reply-blocked"' in page
        assert DISABLED.search(page)
        refused = await amina.post(f"/returnees/{world.a2}/reply", {"text": "x", "by_sms": "1"})
        assert refused.status_code == 409
    assert await manual_messages(services) == []
