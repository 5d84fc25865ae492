"""Shared fixtures: a migrated database per test (SQLite always, PostgreSQL when configured)."""

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from starlette.config import Config

from bot.db import crypto
from bot.db.base import Base
from bot.db.migrate import upgrade
from bot.db.session import make_engine
from bot.services import Services, build_services
from bot.settings import Settings, load

# PTB 22 warns about RetryAfter's int seconds unless this opts in to timedelta (warnings fail tests)
os.environ.setdefault("PTB_TIMEDELTA", "true")
FIXED_NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TEST_KEY = Fernet.generate_key().decode()
PG_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite", *(["postgresql"] if PG_URL else [])]


def pytest_addoption(parser: pytest.Parser) -> None:
    """--update-golden rewrites the transcripts' bot lines from what the code says now;
    --update-screenshots rewrites docs/screenshots/*.png from the browser tests."""
    parser.addoption("--update-golden", action="store_true", default=False)
    parser.addoption("--update-screenshots", action="store_true", default=False)


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    """Whether to rewrite golden files instead of comparing."""
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture
def update_screenshots(request: pytest.FixtureRequest) -> bool:
    """Whether the browser tests rewrite the documentation's screenshots."""
    return bool(request.config.getoption("--update-screenshots"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_migrated() -> str | None:
    """Migrate the PostgreSQL test database from scratch once per run."""
    if PG_URL is None:
        return None
    asyncio.run(_reset_postgres(PG_URL))
    upgrade(PG_URL)
    return PG_URL


async def _reset_postgres(url: str) -> None:
    engine = make_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


async def _truncate(url: str) -> None:
    engine = make_engine(url)
    names = ", ".join(t.name for t in Base.metadata.sorted_tables)
    async with engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: Path,
    postgres_migrated: str | None,
) -> Iterator[str]:
    """A clean, migrated database for one test, on each configured backend."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    assert postgres_migrated is not None
    asyncio.run(_truncate(postgres_migrated))
    yield postgres_migrated


def make_settings(database_url: str, var_dir: Path, **extra: str) -> Settings:
    """Settings for tests: explicit keys, no .env, channels off unless given."""
    environ = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "t" * 40,
        "DATA_ENCRYPTION_KEY": TEST_KEY,
        **extra,
    }
    return load(Config(environ=environ), var_dir=var_dir)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings pointing at the test database."""
    return make_settings(database_url, tmp_path / "var")


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    """The wired services of one process (simulator channels stand in for real ones)."""
    built = build_services(settings, worker_id="test")
    yield built
    await built.close()


@pytest.fixture(autouse=True)
def _keys() -> None:
    """Encrypted columns need keys even in tests that build no services."""
    crypto.configure(TEST_KEY)
