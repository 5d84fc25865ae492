"""The first caseworker page: sign in, then the replies with their returnee and status."""

from bot.ports import InboundMessage
from bot.services import Services
from scheduler.plan import load_default_plan
from scheduler.tick import tick
from tests.bot.webapp import add_user, client, sign_in
from tests.builders import make_enrollment, make_returnee, make_workshop
from tests.conftest import FIXED_NOW


async def test_the_caseworker_sees_the_reply_and_the_status(services: Services) -> None:
    await add_user(services, "amina@example.org")
    await add_user(services, "other@example.org")
    async with services.unit_of_work() as db:
        returnee = await make_returnee(
            db,
            now=FIXED_NOW,
            country="TN",
            language="ar",
            name="Sami <b>Trabelsi</b>",
            caseworker="amina@example.org",
        )
        await make_enrollment(db, await make_workshop(db, now=FIXED_NOW), returnee, now=FIXED_NOW)
    await tick(
        services.unit_of_work,
        services.conversations,
        services.outbox,
        load_default_plan(),
        now=FIXED_NOW,
    )
    assert returnee.phone is not None
    await services.conversations.handle(
        InboundMessage(channel="sms", address=returnee.phone, text="نعم <script>x</script>"),
        now=FIXED_NOW,
    )
    async with client(services) as http:
        assert (await http.get("/", follow_redirects=False)).headers["location"] == "/login"
        signed = await sign_in(http, "amina@example.org")
        assert signed.status_code == 303
        page = await http.get("/")
        assert "نعم &lt;script&gt;x&lt;/script&gt;" in page.text  # returnees' text stays text
        assert "Sami &lt;b&gt;Trabelsi&lt;/b&gt;" in page.text
        assert "confirmed" in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
    async with client(services) as http:
        await sign_in(http, "other@example.org")
        assert "Trabelsi" not in (await http.get("/")).text  # another caseload


async def test_a_wrong_password_is_refused(services: Services) -> None:
    await add_user(services, "amina@example.org")
    async with client(services) as http:
        answer = await sign_in(http, "amina@example.org", "wrong password!")
        assert answer.status_code == 401
        assert "incorrect" in answer.text
        assert (await http.get("/", follow_redirects=False)).status_code == 303


async def test_login_needs_the_csrf_token(services: Services) -> None:
    await add_user(services, "amina@example.org")
    async with client(services) as http:
        await http.get("/login")
        answer = await http.post(
            "/login", data={"email": "amina@example.org", "password": "correct horse battery"}
        )
        assert answer.status_code == 403
