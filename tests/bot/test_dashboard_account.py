"""Accounts: change one's password (argon2id), sign out."""

from sqlalchemy import select

from bot.db.models import AuditEvent, User
from bot.services import Services
from tests.bot.test_dashboard_support import VIEWER, build_world, signed_in
from tests.bot.webapp import PASSWORD, client, sign_in

NEW = "a much longer passphrase"


async def test_change_the_password_then_sign_in_with_it(services: Services) -> None:
    await build_world(services)
    async with signed_in(services, VIEWER) as viewer:  # every role may change its own
        wrong = await viewer.post(
            "/account/password", {"current": "nope", "new": NEW, "confirm": NEW}
        )
        assert wrong.status_code == 400
        assert "Mot de passe actuel incorrect." in wrong.text
        differ = await viewer.post(
            "/account/password", {"current": PASSWORD, "new": NEW, "confirm": NEW + "!"}
        )
        assert "diffèrent" in differ.text
        short = await viewer.post(
            "/account/password", {"current": PASSWORD, "new": "short", "confirm": "short"}
        )
        assert "10 caractères" in short.text
        done = await viewer.post(
            "/account/password", {"current": PASSWORD, "new": NEW, "confirm": NEW}
        )
        assert done.status_code == 303
    async with services.unit_of_work() as db:
        user = (await db.execute(select(User).where(User.email == VIEWER))).scalar_one()
        assert user.password_hash.startswith("$argon2id$")
        actions = (await db.execute(select(AuditEvent.action))).scalars().all()
    assert "password_change" in actions
    async with client(services) as http:
        assert (await sign_in(http, VIEWER, PASSWORD)).status_code == 401
        assert (await sign_in(http, VIEWER, NEW)).status_code == 303


async def test_sign_out_ends_the_session(services: Services) -> None:
    await build_world(services)
    async with signed_in(services, VIEWER) as viewer:
        assert (await viewer.post("/logout")).headers["location"] == "/login"
        assert (await viewer.http.get("/inbox")).headers["location"] == "/login"
