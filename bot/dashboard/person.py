"""One returnee: the timeline, a reply by hand, consent recorded here, Telegram link codes."""

import secrets
import uuid
from datetime import timedelta
from typing import Annotated

import qrcode
from fastapi import APIRouter, Depends, Form, HTTPException, Request
from markupsafe import Markup
from qrcode.image.svg import SvgPathImage
from starlette.responses import RedirectResponse, Response

from bot import audit
from bot.clock import utcnow
from bot.dashboard import timeline
from bot.dashboard.access import check_form, returnee_for
from bot.dashboard.auth import current_user
from bot.dashboard.charts import line_chart
from bot.dashboard.inbox import alerts_of
from bot.dashboard.templating import page
from bot.db.models import LinkCode, User
from bot.effects import Turn, queue_message, record_consent

router = APIRouter()
CurrentUser = Annotated[User, Depends(current_user)]
FormStr = Annotated[str, Form()]
REPLY_MAX = 1600  # ten SMS segments; WhatsApp and Telegram take more
LINK_CODE_DAYS = 7
DEFAULT_BOT = "returnee_bot"


@router.get("/returnees/{returnee_id:int}")
async def show(request: Request, returnee_id: int, user: CurrentUser) -> Response:
    """The timeline: messages in and out, check-ins, schedule decisions, alerts, consent."""
    now = utcnow()
    async with request.app.state.services.unit_of_work() as db:
        returnee = await returnee_for(db, user, returnee_id)
        story = await timeline.build(db, returnee)
        alerts = await alerts_of(db, returnee_id)
    return page(
        request,
        "timeline.html",
        tl=story,
        r=returnee,
        alerts=alerts,
        blocker=timeline.reply_blocker(returnee, story.addresses, now),
        chart=line_chart([(c.created_at, c.score) for c in story.checkins]),
        now=now,
        reply_max=REPLY_MAX,
    )


@router.post("/returnees/{returnee_id:int}/reply")
async def reply(
    request: Request, returnee_id: int, user: CurrentUser, csrf: FormStr = "", text: FormStr = ""
) -> Response:
    """Write to the returnee on their channel; the outbox sends it at once."""
    check_form(request, user, csrf)
    body = text.strip()
    if not body or len(body) > REPLY_MAX:
        raise HTTPException(422, f"Message vide ou trop long ({REPLY_MAX} caractères au plus).")
    now = utcnow()
    services = request.app.state.services
    async with services.unit_of_work() as db:
        returnee = await returnee_for(db, user, returnee_id)
        addresses = await timeline.addresses_of(db, returnee_id)
        blocker = timeline.reply_blocker(returnee, addresses, now)
        if blocker is not None:
            raise HTTPException(409, blocker)
        turn = Turn(now=now, key=f"manual:{uuid.uuid4()}", purpose="manual")
        message = await queue_message(db, returnee, turn, text=body)
        await audit.record(
            db,
            actor=user.email,
            action="manual_reply",
            target=audit.returnee_target(returnee_id),
            detail=f"message:{message.id}",
            now=now,
        )
    services.outbox.wake()  # after the commit
    return RedirectResponse(f"/returnees/{returnee_id}#reponse", status_code=303)


@router.post("/returnees/{returnee_id:int}/consent")
async def consent(
    request: Request, returnee_id: int, user: CurrentUser, csrf: FormStr = "", kind: FormStr = ""
) -> Response:
    """Record consent given or withdrawn (told to the caseworker in person or by phone)."""
    check_form(request, user, csrf)
    if kind not in ("given", "withdrawn"):
        raise HTTPException(422, "Choisissez « donné » ou « retiré ».")
    now = utcnow()
    async with request.app.state.services.unit_of_work() as db:
        returnee = await returnee_for(db, user, returnee_id)
        await record_consent(
            db, returnee, given=kind == "given", method="dashboard", now=now, channel=None
        )
        await audit.record(
            db,
            actor=user.email,
            action=f"consent_{kind}",
            target=audit.returnee_target(returnee_id),
            now=now,
        )
    return RedirectResponse(f"/returnees/{returnee_id}#consentement", status_code=303)


def qr_svg(link: str) -> Markup:
    """The link as an inline SVG QR code, to scan from the caseworker's screen."""
    image = qrcode.make(link, image_factory=SvgPathImage, box_size=8, border=2)
    svg = image.to_string(encoding="unicode")
    return Markup(svg[svg.index("<svg") :])  # made by qrcode from our own link: no user text


@router.post("/returnees/{returnee_id:int}/link-code")
async def link_code(
    request: Request, returnee_id: int, user: CurrentUser, csrf: FormStr = ""
) -> Response:
    """Make a single-use Telegram link code; only its hash is stored, so it is shown once."""
    check_form(request, user, csrf)
    now = utcnow()
    code = secrets.token_urlsafe(12)  # 16 characters of A-Z a-z 0-9 _ -: a valid start parameter
    async with request.app.state.services.unit_of_work() as db:
        returnee = await returnee_for(db, user, returnee_id)
        expires = now + timedelta(days=LINK_CODE_DAYS)
        db.add(LinkCode(code_index=code, returnee_id=returnee.id, expires_at=expires))
        await audit.record(
            db,
            actor=user.email,
            action="link_code",
            target=audit.returnee_target(returnee_id),
            now=now,
        )
    settings = request.app.state.services.settings
    username = getattr(settings, "telegram_bot_username", None) or DEFAULT_BOT
    return page(
        request,
        "link_code.html",
        r=returnee,
        code=code,
        link=f"https://t.me/{username}?start={code}",
        qr=qr_svg(f"https://t.me/{username}?start={code}"),
        expires=expires,
    )
