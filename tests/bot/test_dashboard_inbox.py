"""The inbox (priority, then age; assign, note, resolve) and the timeline with a reply by hand."""

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text

from bot.clock import utcnow
from bot.dashboard.templating import ago
from bot.db import repo
from bot.db.models import Alert, AuditEvent, Message, OutboxItem, Returnee
from bot.effects import raise_alert
from bot.services import Services
from tests.bot.test_dashboard_support import ADMIN, AMINA, build_world, signed_in


def test_ago_says_how_long_in_french() -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert ago(now - timedelta(seconds=20), now) == "à l'instant"
    assert ago(now - timedelta(minutes=5), now) == "il y a 5 min"
    assert ago(now - timedelta(hours=3, minutes=10), now) == "il y a 3 h"
    assert ago(now - timedelta(days=4), now) == "il y a 4 j"
    assert ago(now + timedelta(hours=1), now) == "à l'instant"
    assert ago(None, now) == "—"


async def test_the_inbox_puts_the_most_urgent_then_the_oldest_first(services: Services) -> None:
    world = await build_world(services)
    now = utcnow()
    async with services.unit_of_work() as db:
        a1 = await db.get(Returnee, world.a1)
        a2 = await db.get(Returnee, world.a2)
        assert a1 is not None
        assert a2 is not None
        # priority as stored is ignored in favour of the kind's rank
        await raise_alert(db, a2, kind="no_response", priority=1, reason="", now=now)
        await raise_alert(db, a2, kind="low_wellbeing", priority=4, reason="", now=now)
        await raise_alert(db, a1, kind="distress", priority=1, reason="", now=now)
        await raise_alert(
            db, a2, kind="distress", priority=1, reason="", now=now - timedelta(days=2)
        )
    async with signed_in(services, AMINA) as amina:
        page = (await amina.http.get("/inbox")).text
    kinds = re.findall(r'<span class="badge rank-\d">([^<]+)</span>', page)
    assert kinds == ["Détresse", "Détresse", "Demande d&#39;aide", "Bien-être bas", "Sans réponse"]
    first, second = re.findall(r'<a href="/returnees/(\d+)" dir="auto">', page)[:2]
    assert (int(first), int(second)) == (world.a2, world.a1)  # the older distress first
    assert "attend depuis il y a 2 j" in page
    assert "attend depuis il y a 3 h" in page  # the help alert
    assert "Awa Diop" not in page  # Moussa's distress is not Amina's


async def test_assign_note_and_resolve(services: Services) -> None:
    world = await build_world(services)
    async with signed_in(services, AMINA) as amina:
        assert (await amina.post(f"/alerts/{world.alert_a1}/assign")).status_code == 303
        async with services.unit_of_work() as db:
            assert await repo.handled_by_caseworker(db, world.a1)  # automated sends pause
        mine = (await amina.http.get("/inbox?view=mine")).text
        assert "Fatima Zahra Idrissi" in mine
        assert "Prise en charge par Amina" in mine
        await amina.post(f"/alerts/{world.alert_a1}/note", {"text": "Appelée, <rappeler> lundi"})
        page = (await amina.http.get("/inbox")).text
        assert "Amina : Appelée, &lt;rappeler&gt; lundi" in page
        async with services.unit_of_work() as db:
            raw = (
                await db.execute(
                    text("SELECT note FROM alerts WHERE id = :id"), {"id": world.alert_a1}
                )
            ).scalar_one()
        assert b"lundi" not in bytes(raw)  # encrypted at rest
        answer = await amina.post(f"/alerts/{world.alert_a1}/resolve", {"back": "timeline"})
        assert answer.headers["location"] == f"/returnees/{world.a1}#alertes"
        assert "Fatima" not in (await amina.http.get("/inbox")).text
        async with services.unit_of_work() as db:
            alert = await db.get(Alert, world.alert_a1)
            assert alert is not None
            assert alert.status == "resolved"
            assert alert.resolved_at
            assert not await repo.handled_by_caseworker(db, world.a1)
            actions = (await db.execute(select(AuditEvent.action))).scalars().all()
        assert {"alert_assign", "alert_note", "alert_resolve"} <= set(actions)


async def test_the_timeline_shows_messages_checkins_schedule_and_consent(
    services: Services,
) -> None:
    world = await build_world(services)
    async with signed_in(services, AMINA) as amina:
        page = (await amina.http.get(f"/returnees/{world.a1}")).text
    assert '<p class="text" dir="auto">Bonjour &lt;b&gt;merci&lt;/b&gt;</p>' in page
    assert "Reçu" in page
    assert "reçu" in page
    assert "Score 4/5" in page
    assert "Score 2/5" in page
    assert "<svg" in page
    assert "<polyline" in page
    assert "Envoi programmé" in page
    assert "rappel" in page
    assert "sauté" in page
    assert "quiet hours: after the workshop started" in page
    assert "Atelier Amina" in page
    assert "Invité·e" in page
    assert "Consentement donné" in page
    assert "à l&#39;inscription" in page
    assert "Demande d&#39;aide" in page


async def test_a_reply_by_hand_is_queued_and_shown_as_text(services: Services) -> None:
    world = await build_world(services)
    async with signed_in(services, AMINA) as amina:
        answer = await amina.post(
            f"/returnees/{world.a1}/reply", {"text": "Bonjour <script>alert(1)</script>"}
        )
        assert answer.status_code == 303
        page = (await amina.http.get(f"/returnees/{world.a1}")).text
    assert "Bonjour &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "réponse d&#39;un conseiller" in page
    async with services.unit_of_work() as db:
        message = (
            await db.execute(select(Message).where(Message.purpose == "manual"))
        ).scalar_one()
        assert message.returnee_id == world.a1
        assert message.direction == "out"
        item = (
            await db.execute(select(OutboxItem).where(OutboxItem.message_id == message.id))
        ).scalar_one()
        assert item.idempotency_key.startswith("manual:")
        assert item.status == "pending"


async def test_no_reply_to_someone_who_said_stop(services: Services) -> None:
    world = await build_world(services)
    async with services.unit_of_work() as db:
        person = await db.get(Returnee, world.a1)
        assert person is not None
        person.opted_out = True
    async with signed_in(services, ADMIN) as admin:
        page = (await admin.http.get(f"/returnees/{world.a1}")).text
        assert "ne plus recevoir de messages" in page
        assert (await admin.post(f"/returnees/{world.a1}/reply", {"text": "x"})).status_code == 409
