"""Dashboard pages: the inbox of replies (the dashboard issue grows the rest here)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from bot.dashboard.auth import current_user
from bot.dashboard.queries import recent_replies
from bot.dashboard.templating import page
from bot.db.models import User

router = APIRouter()


@router.get("/")
async def home(request: Request, user: Annotated[User, Depends(current_user)]) -> Response:
    """List the latest replies with their returnee and enrollment status."""
    async with request.app.state.services.unit_of_work() as db:
        replies = await recent_replies(db, user)
    return page(request, "replies.html", replies=replies)
