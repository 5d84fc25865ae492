"""Dashboard pages: the replies page here, and every other page's router gathered in."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy import func, select
from starlette.responses import Response

from bot.clock import utcnow
from bot.dashboard import (
    account,
    exports,
    importing,
    inbox,
    person,
    returnees,
    wellbeing,
    workshops,
)
from bot.dashboard.access import scoped
from bot.dashboard.auth import current_user
from bot.dashboard.queries import recent_replies
from bot.dashboard.templating import page
from bot.db.models import Alert, Returnee, User

router = APIRouter()


@router.get("/")
async def home(request: Request, user: Annotated[User, Depends(current_user)]) -> Response:
    """List the latest replies with their returnee and enrollment status."""
    async with request.app.state.services.unit_of_work() as db:
        replies = await recent_replies(db, user, now=utcnow())
        query = scoped(
            select(func.count(Alert.id))
            .select_from(Returnee)
            .join(Alert, Alert.returnee_id == Returnee.id)
            .where(Alert.status == "open"),
            user,
        )
        open_alerts = (await db.execute(query)).scalar_one()
    return page(request, "replies.html", replies=replies, open_alerts=open_alerts)


PAGES = (inbox, returnees, importing, person, workshops, wellbeing, exports, account)
for _module in PAGES:
    router.include_router(_module.router)
