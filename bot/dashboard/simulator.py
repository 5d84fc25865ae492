"""The simulator: chat as any demo returnee, through the same path as a real channel."""

from fastapi import APIRouter, Form, HTTPException, Request
from sqlalchemy import select
from starlette.responses import RedirectResponse, Response

from bot.clock import utcnow
from bot.dashboard.templating import page
from bot.db import repo
from bot.db.models import Returnee
from bot.db.session import UnitOfWork
from bot.effects import Turn
from bot.ports import InboundMessage
from bot.web.security import csrf_ok

router = APIRouter()


def _allowed(request: Request) -> None:
    """The simulator speaks as any returnee: never open in production."""
    if request.app.state.services.settings.production:
        raise HTTPException(404)


@router.get("/simulator")
async def simulator(request: Request, returnee: int | None = None) -> Response:
    """Show the returnees, and the chosen one's conversation."""
    _allowed(request)
    services = request.app.state.services
    async with services.unit_of_work() as db:
        people = list((await db.execute(select(Returnee).order_by(Returnee.id))).scalars())
        chosen = next((p for p in people if p.id == returnee), None)
        history = list(await repo.messages_of(db, chosen.id)) if chosen else []
    outgoing = [m for m in history if m.direction == "out"]
    # the buttons of the question still open: the last message, if it asked one
    last_choices = outgoing[-1].choices if outgoing and history[-1] is outgoing[-1] else None
    return page(
        request,
        "simulator.html",
        people=people,
        chosen=chosen,
        history=history,
        choices=last_choices or [],
        flows=sorted(services.conversations.registry),
    )


@router.post("/simulator/{returnee_id}/start")
async def start(
    request: Request, returnee_id: int, flow: str = Form(""), csrf: str = Form("")
) -> Response:
    """Start any flow for the returnee, about their next workshop, as the scheduler would."""
    _allowed(request)
    if not csrf_ok(request, csrf):
        raise HTTPException(403, "CSRF token missing or wrong")
    services = request.app.state.services
    if flow not in services.conversations.registry:
        raise HTTPException(422, "unknown flow")
    now = utcnow()
    async with services.unit_of_work() as db:
        returnee = await repo.returnee(db, returnee_id)
        if returnee is None:
            raise HTTPException(404, "unknown returnee")
        enrollment = await repo.next_enrollment(db, returnee_id, now=now)
        fields = {"enrollment_id": str(enrollment.id)} if enrollment else {}
        turn = Turn(
            now=now,
            key=f"sim:{flow}:{now.isoformat()}",
            purpose=flow,
            enrollment_id=enrollment.id if enrollment else None,
        )
        await services.conversations.start_flow(db, returnee, flow, turn=turn, fields=fields)
    await services.outbox.drain(now=now)
    return RedirectResponse(f"/simulator?returnee={returnee_id}", status_code=303)


@router.post("/simulator/{returnee_id}")
async def say(
    request: Request,
    returnee_id: int,
    text: str = Form(""),
    choice: str | None = Form(None),
    csrf: str = Form(""),
) -> Response:
    """Send a message as the returnee, through their own channel's path."""
    _allowed(request)
    if not csrf_ok(request, csrf):
        raise HTTPException(403, "CSRF token missing or wrong")
    services = request.app.state.services
    async with services.unit_of_work() as db:
        returnee = await repo.returnee(db, returnee_id)
        address = await repo.address_for(db, returnee_id, returnee.channel) if returnee else None
    if returnee is None or address is None:
        raise HTTPException(404, "unknown returnee")
    if not text.strip() and not choice:
        return RedirectResponse(f"/simulator?returnee={returnee_id}", status_code=303)
    now = utcnow()
    label = await _label_of(services.unit_of_work, returnee_id, choice) if choice else None
    inbound = InboundMessage(
        channel=returnee.channel,
        address=address.address,
        text=label or text.strip(),
        choice_id=choice or None,
    )
    await services.conversations.handle(inbound, now=now)
    await services.outbox.drain(now=now)  # the simulator shows the answer on the next page
    return RedirectResponse(f"/simulator?returnee={returnee_id}", status_code=303)


async def _label_of(unit_of_work: UnitOfWork, returnee_id: int, choice: str) -> str | None:
    """The label of the button pressed, as the returnee saw it (what a caseworker reads)."""
    async with unit_of_work() as db:
        history = await repo.messages_of(db, returnee_id)
    for message in reversed(history):
        for option in message.choices or []:
            if option["id"] == choice:
                return option["label"]
    return None
