"""The signed-in user's own account: change the password (argon2id)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from starlette.responses import RedirectResponse, Response

from bot import audit
from bot.accounts import AccountError, authenticate, hash_password
from bot.clock import utcnow
from bot.dashboard.auth import current_user
from bot.dashboard.templating import flash, page
from bot.dashboard.translation import gettext as _
from bot.db.models import User
from bot.web.security import csrf_ok

router = APIRouter()
FormStr = Annotated[str, Form()]


@router.get("/account/password")
async def password_form(request: Request, user: Annotated[User, Depends(current_user)]) -> Response:
    """The password change form."""
    return page(request, "password.html", error=None)


@router.post("/account/password")
async def change_password(
    request: Request,
    user: Annotated[User, Depends(current_user)],
    csrf: FormStr = "",
    current: FormStr = "",
    new: FormStr = "",
    confirm: FormStr = "",
) -> Response:
    """Check the current password, then store the new one's hash. Open to every role."""
    if not csrf_ok(request, csrf):
        raise HTTPException(403, _("Formulaire expiré ou invalide (CSRF)."))
    async with request.app.state.services.unit_of_work() as db:
        account = await authenticate(db, user.email, current)
        if account is None or account.id != user.id:
            return page(
                request, "password.html", status_code=400, error=_("Mot de passe actuel incorrect.")
            )
        if new != confirm:
            return page(
                request,
                "password.html",
                status_code=400,
                error=_("Les deux nouveaux mots de passe diffèrent."),
            )
        try:
            account.password_hash = hash_password(new)
        except AccountError:
            return page(
                request,
                "password.html",
                status_code=400,
                error=_("Le nouveau mot de passe doit compter au moins 10 caractères."),
            )
        await audit.record(db, actor=user.email, action="password_change", now=utcnow())
    flash(request, _("Mot de passe modifié."))
    return RedirectResponse("/inbox", status_code=303)
