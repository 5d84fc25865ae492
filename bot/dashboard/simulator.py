"""The simulator: chat as any demo returnee, through the same path as a real channel."""

from fastapi import APIRouter, Form, HTTPException, Request
from sqlalchemy import select
from starlette.responses import RedirectResponse, Response

from bot.clock import utcnow
from bot.dashboard.templating import page
from bot.db import repo
from bot.db.models import Returnee
from bot.ports import InboundMessage
from bot.web.security import csrf_ok

router = APIRouter()
SIM_CHANNEL = "simulator"


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
    last_choices = next(
        (m.choices for m in reversed(history) if m.direction == "out" and m.choices), None
    )
    return page(
        request,
        "simulator.html",
        people=people,
        chosen=chosen,
        history=history,
        choices=last_choices or [],
    )


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
    await services.conversations.handle(
        InboundMessage(
            channel=returnee.channel,
            address=address.address,
            text=text.strip(),
            choice_id=choice or None,
        ),
        now=now,
    )
    await services.outbox.drain(now=now)  # the simulator shows the answer on the next page
    return RedirectResponse(f"/simulator?returnee={returnee_id}", status_code=303)
