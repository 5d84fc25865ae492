"""One returnee: the timeline, a reply by hand, consent recorded here, Telegram link codes."""

from datetime import datetime
from typing import Annotated

import qrcode
from fastapi import APIRouter, Depends, Form, HTTPException, Request
from markupsafe import Markup
from qrcode.image.svg import SvgPathImage
from starlette.responses import RedirectResponse, Response

from bot import casework, replies
from bot.clock import utcnow
from bot.dashboard import timeline
from bot.dashboard.access import check_form, returnee_for
from bot.dashboard.auth import current_user
from bot.dashboard.charts import line_chart
from bot.dashboard.inbox import alerts_of
from bot.dashboard.templating import page, when
from bot.dashboard.translation import gettext as _
from bot.db.models import Address, Returnee, User

router = APIRouter()
CurrentUser = Annotated[User, Depends(current_user)]
FormStr = Annotated[str, Form()]
REPLY_MAX = replies.MAX_TEXT


def reply_options(
    request: Request, returnee: Returnee, addresses: list[Address], now: datetime
) -> replies.ReplyOptions:
    """How a reply may go out now, with the templates this process sends."""
    services = request.app.state.services
    return replies.options(
        returnee,
        addresses,
        now,
        templates=services.outbox.templates,
        texts=services.template_texts,
    )


@router.get("/returnees/{returnee_id:int}")
async def show(request: Request, returnee_id: int, user: CurrentUser) -> Response:
    """The timeline: messages in and out, check-ins, schedule decisions, alerts, consent."""
    now = utcnow()
    async with request.app.state.services.unit_of_work() as db:
        returnee = await returnee_for(db, user, returnee_id)
        story = await timeline.build(db, returnee)
        alerts = await alerts_of(db, returnee_id)
    options = reply_options(request, returnee, story.addresses, now)
    return page(
        request,
        "timeline.html",
        tl=story,
        r=returnee,
        alerts=alerts,
        blocker=timeline.reply_blocker(options, returnee.channel),
        reply=options,
        template_preview=options.preview(returnee.name.split(" ")[0]),
        chart=line_chart(
            [(c.created_at, c.score) for c in story.checkins],
            label=lambda at: when(at, None, "date"),
        ),
        now=now,
        reply_max=REPLY_MAX,
    )


@router.post("/returnees/{returnee_id:int}/reply")
async def reply(
    request: Request,
    returnee_id: int,
    user: CurrentUser,
    csrf: FormStr = "",
    text: FormStr = "",
    as_template: FormStr = "",
    by_sms: FormStr = "",
) -> Response:
    """Write to the returnee (outside WhatsApp's window: in the approved template, or by SMS,
    as ticked); the outbox sends it at once."""
    check_form(request, user, csrf)
    body = text.strip()
    if not body or len(body) > REPLY_MAX:
        too_long = _("Message vide ou trop long ({limit} caractères au plus).")
        raise HTTPException(422, too_long.format(limit=REPLY_MAX))
    now = utcnow()
    services = request.app.state.services
    async with services.unit_of_work() as db:
        returnee = await returnee_for(db, user, returnee_id)
        try:
            await replies.send_reply(
                db,
                returnee,
                body,
                as_template=bool(as_template),
                by_sms=bool(by_sms),
                templates=services.outbox.templates,
                texts=services.template_texts,
                actor=user.email,
                now=now,
            )
        except replies.ReplyRefused as refused:
            raise HTTPException(409, timeline.refusal(refused.reason, returnee.channel)) from None
    services.outbox.wake()  # after the commit
    return RedirectResponse(f"/returnees/{returnee_id}#reponse", status_code=303)


@router.post("/returnees/{returnee_id:int}/consent")
async def consent(
    request: Request, returnee_id: int, user: CurrentUser, csrf: FormStr = "", kind: FormStr = ""
) -> Response:
    """Record consent given or withdrawn (told to the caseworker in person or by phone)."""
    check_form(request, user, csrf)
    if kind not in ("given", "withdrawn"):
        raise HTTPException(422, _("Choisissez « donné » ou « retiré »."))
    now = utcnow()
    async with request.app.state.services.unit_of_work() as db:
        returnee = await returnee_for(db, user, returnee_id)
        await casework.set_consent(
            db, returnee, kind, method="dashboard", actor=user.email, now=now
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
    settings = request.app.state.services.settings
    async with request.app.state.services.unit_of_work() as db:
        returnee = await returnee_for(db, user, returnee_id)
        issued = await casework.issue_link_code(
            db,
            returnee,
            bot_username=getattr(settings, "telegram_bot_username", None),
            actor=user.email,
            now=utcnow(),
        )
    return page(
        request,
        "link_code.html",
        r=returnee,
        code=issued.code,
        link=issued.link,
        qr=qr_svg(issued.link),
        expires=issued.expires_at,
    )
