"""What every API handler shares: the token check and transaction, ids, 404s, 422s, the log."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from bot import accounts, audit
from bot.clock import utcnow
from bot.db import repo
from bot.db.models import Alert, Returnee, Workshop
from bot.programme import InvalidField

bearer = HTTPBearer(auto_error=False)
MAX_ID = 2**63 - 1  # beyond a BIGINT: refused with 422, not passed to the database
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
ROW_MAX_ID = 2**31 - 1  # ids are 32-bit on PostgreSQL: a larger one is simply not found
WAKE = "wake_outbox"  # set in db.info by a handler that queued messages


async def db_session(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> AsyncIterator[AsyncSession]:
    """Check the bearer token, then give the handler one transaction."""
    if credentials is None:
        raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    services = request.app.state.services
    async with services.unit_of_work() as db:
        token = await accounts.check_token(db, credentials.credentials)
        if token is None:
            raise HTTPException(401, "invalid token", headers={"WWW-Authenticate": "Bearer"})
        db.info["actor"] = f"api:{token.name}"  # who the audit log names for this request
        yield db
        wake = bool(db.info.get(WAKE))
    if wake:  # after the commit, so the sender finds the rows
        services.outbox.wake()


Db = Annotated[AsyncSession, Depends(db_session)]


def actor(db: AsyncSession) -> str:
    """Who the audit log names for this request: the API token's name."""
    return str(db.info.get("actor", "api"))


def unprocessable(error: InvalidField, *, where: str = "body") -> HTTPException:
    """Turn a domain validation error into the API's 422 shape, naming the field."""
    return HTTPException(
        422, [{"loc": [where, error.field], "msg": error.message, "type": "value_error"}]
    )


async def returnee_or_404(
    db: AsyncSession, returnee_id: int, *, view: str | None = None
) -> Returnee:
    """The returnee, else 404; `view` logs that their data was read."""
    returnee = await repo.returnee(db, returnee_id) if returnee_id <= ROW_MAX_ID else None
    if returnee is None:
        raise HTTPException(404, f"no returnee {returnee_id}")
    if view is not None:  # every view of a person's data is in the audit log
        await audit.record(
            db,
            actor=actor(db),
            action=f"view_{view}",
            target=audit.returnee_target(returnee_id),
            now=utcnow(),
        )
    return returnee


async def workshop_or_404(db: AsyncSession, workshop_id: int) -> Workshop:
    """The workshop, else 404."""
    workshop = await repo.workshop(db, workshop_id) if workshop_id <= ROW_MAX_ID else None
    if workshop is None:
        raise HTTPException(404, f"no workshop {workshop_id}")
    return workshop


async def alert_or_404(db: AsyncSession, alert_id: int) -> Alert:
    """The alert, else 404."""
    alert = await db.get(Alert, alert_id) if alert_id <= ROW_MAX_ID else None
    if alert is None:
        raise HTTPException(404, f"no alert {alert_id}")
    return alert


async def log(db: AsyncSession, action: str, target: str | None, detail: str | None = None) -> None:
    """Record a change made through the API in the audit log, named after the token."""
    await audit.record(
        db, actor=actor(db), action=action, target=target, detail=detail, now=utcnow()
    )
