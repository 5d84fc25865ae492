"""Every page renders for every role (smoke), French first, returnees' text as text."""

import pytest

from bot.services import Services
from tests.bot.test_dashboard_support import ADMIN, AMINA, VIEWER, build_world, signed_in


@pytest.mark.parametrize("email", [AMINA, ADMIN, VIEWER])
async def test_every_page_renders(services: Services, email: str) -> None:
    world = await build_world(services)
    async with signed_in(services, email) as s:
        for url in (
            "/", "/inbox", "/inbox?view=mine", "/inbox?view=free", "/returnees",
            f"/returnees/{world.a1}", f"/returnees/{world.a2}", f"/returnees/{world.a1}/edit",
            "/returnees/new", "/returnees/import", "/workshops", "/workshops/new",
            f"/workshops/{world.w_amina}", f"/workshops/{world.w_amina}/enroll", "/wellbeing",
            "/exports", "/account/password",
        ):  # fmt: skip
            answer = await s.http.get(url)
            assert answer.status_code == 200, (url, answer.text[:300])
            assert '<html lang="fr">' in answer.text
            assert "&lt;b&gt;merci&lt;/b&gt;" in answer.text or "<b>merci" not in answer.text
