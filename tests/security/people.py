"""A returnee with a row in every table about people, made through the app's own paths."""

from datetime import datetime, timedelta

from sqlalchemy import select

from bot.db.models import Alert, LinkCode, Returnee
from bot.effects import Turn, record_consent
from bot.ports import InboundMessage
from bot.services import Services
from scheduler.plan import load_default_plan
from scheduler.tick import tick
from tests.builders import make_enrollment, make_returnee, make_workshop
from tests.conftest import FIXED_NOW

COMMENT = "je dors mal ces temps-ci"
NOTE = "rappeler mardi"


async def full_person(
    services: Services, *, name: str, phone: str, now: datetime = FIXED_NOW
) -> int:
    """Register, invite, plan, answer, check in, ask for help, withdraw and give consent."""
    async with services.unit_of_work() as db:
        person = await make_returnee(db, now=now, name=name, phone=phone, language="fr")
        workshop = await make_workshop(db, now=now, title=f"Atelier {phone}")
        await make_enrollment(db, workshop, person, now=now)
        db.add(LinkCode(code_index=f"code-{phone}", returnee_id=person.id,
                        expires_at=now + timedelta(days=1)))  # fmt: skip
        returnee_id, address = person.id, person.phone
    assert address is not None
    await tick(services.unit_of_work, services.conversations, services.outbox,
               load_default_plan(), now=now)  # fmt: skip
    later = now + timedelta(minutes=5)
    await _say(services, address, "oui", f"{phone}-1", later)
    async with services.unit_of_work() as db:
        again = await db.get(Returnee, returnee_id)
        assert again is not None
        turn = Turn(now=later, key=f"sched:wb-{phone}", purpose="wellbeing_checkin")
        await services.conversations.start_flow(db, again, "wellbeing", turn=turn, fields={})
    await _say(services, address, "4", f"{phone}-2", later)
    await _say(services, address, COMMENT, f"{phone}-3", later)
    await _say(services, address, "aide", f"{phone}-4", later)
    async with services.unit_of_work() as db:
        last = await db.get(Returnee, returnee_id)
        assert last is not None
        alert = (await db.execute(select(Alert).where(Alert.returnee_id == returnee_id))).scalar()
        assert alert is not None
        alert.note = NOTE
        await record_consent(db, last, given=False, method="chat", now=later)
        await record_consent(db, last, given=True, method="dashboard", now=later)
    return returnee_id


async def _say(services: Services, address: str, text: str, sid: str, now: datetime) -> None:
    inbound = InboundMessage(channel="sms", address=address, text=text, external_id=sid)
    outcome = await services.conversations.handle(inbound, now=now)
    assert outcome.stored
