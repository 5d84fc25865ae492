"""Apply and check Alembic migrations against a database URL."""

from importlib.resources import files

from alembic import command
from alembic.config import Config


def alembic_config(url: str) -> Config:
    """Return the Alembic config of the packaged migrations, pointed at `url`."""
    ini = files("bot.db") / "migrations" / "alembic.ini"
    config = Config(str(ini))
    config.set_main_option("script_location", str(files("bot.db") / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str) -> None:
    """Bring the schema at `url` to the newest revision."""
    command.upgrade(alembic_config(url), "head")
