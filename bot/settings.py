"""Settings read once from the environment or .env; secrets never print in clear."""

import secrets
from dataclasses import dataclass
from pathlib import Path

from starlette.config import Config
from starlette.datastructures import Secret

DEFAULT_DATABASE_URL = "sqlite:///var/returnee-bot.db"
_WEAK_SECRETS = {"", "changeme", "changethis", "secret", "development"}


class SettingsError(RuntimeError):
    """The configuration cannot be used; the message says which variable."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the host needs from its environment."""

    database_url: str
    bot_env: str
    secret_key: Secret
    data_encryption_key: Secret
    public_base_url: str
    telegram_bot_token: Secret | None
    telegram_webhook_secret: Secret | None
    telegram_api_base: str
    twilio_account_sid: str | None
    twilio_auth_token: Secret | None
    twilio_api_base: str
    twilio_sms_from: str | None
    twilio_whatsapp_from: str | None
    var_dir: Path
    twilio_rate: float = 10.0  # messages per second per sender
    telegram_bot_username: str | None = None  # for t.me/<username>?start=<code> links
    max_body_bytes: int = 64 * 1024
    retention_days: int = 365  # message text and check-in comments older than this are erased
    data_index_key: Secret | None = None  # blind-index secret; default: the oldest data key

    @property
    def production(self) -> bool:
        """True when running for real people."""
        return self.bot_env == "production"

    @property
    def telegram_enabled(self) -> bool:
        """True when a Telegram bot token is configured."""
        return self.telegram_bot_token is not None

    @property
    def twilio_enabled(self) -> bool:
        """True when Twilio credentials are configured."""
        return bool(self.twilio_account_sid) and self.twilio_auth_token is not None


def load(config: Config, *, var_dir: Path | None = None) -> Settings:
    """Build Settings; in production refuse missing or weak secrets."""
    env = config("BOT_ENV", default="development")
    if env not in ("development", "production"):
        raise SettingsError(f"BOT_ENV must be development or production, not {env!r}")
    var = var_dir or Path(config("VAR_DIR", default="var"))
    production = env == "production"
    return Settings(
        database_url=config("DATABASE_URL", default=DEFAULT_DATABASE_URL),
        bot_env=env,
        secret_key=_secret(config, "SECRET_KEY", var, production, secrets.token_urlsafe),
        data_encryption_key=_secret(config, "DATA_ENCRYPTION_KEY", var, production, _fernet_key),
        public_base_url=config("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/"),
        telegram_bot_token=config("TELEGRAM_BOT_TOKEN", cast=Secret, default=None),
        telegram_webhook_secret=config("TELEGRAM_WEBHOOK_SECRET", cast=Secret, default=None),
        telegram_api_base=config("TELEGRAM_API_BASE", default="https://api.telegram.org"),
        twilio_account_sid=config("TWILIO_ACCOUNT_SID", default=None),
        twilio_auth_token=config("TWILIO_AUTH_TOKEN", cast=Secret, default=None),
        twilio_api_base=config("TWILIO_API_BASE", default="https://api.twilio.com"),
        twilio_sms_from=config("TWILIO_SMS_FROM", default=None),
        twilio_whatsapp_from=config("TWILIO_WHATSAPP_FROM", default=None),
        var_dir=var,
        twilio_rate=config("TWILIO_RATE_PER_SECOND", cast=float, default=10.0),
        telegram_bot_username=config("TELEGRAM_BOT_USERNAME", default=None),
        retention_days=_positive(config("RETENTION_DAYS", cast=int, default=365), "RETENTION_DAYS"),
        data_index_key=_optional_secret(config, "DATA_INDEX_KEY", production),
    )


def _positive(value: int, name: str) -> int:
    if value < 1:
        raise SettingsError(f"{name} must be a positive number of days")
    return value


def _optional_secret(config: Config, name: str, production: bool) -> Secret | None:
    value = config(name, default=None)
    if value is None:
        return None
    if production and (value.strip().lower() in _WEAK_SECRETS or len(value) < 32):
        raise SettingsError(f"{name} is too weak for production (32+ random characters)")
    return Secret(value)


def _fernet_key(_: int = 0) -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def _secret(config: Config, name: str, var: Path, production: bool, make: "object") -> Secret:
    value = config(name, default=None)
    if value is not None:
        if production and (value.strip().lower() in _WEAK_SECRETS or len(value) < 32):
            raise SettingsError(f"{name} is too weak for production (32+ random characters)")
        return Secret(value)
    if production:
        raise SettingsError(f"{name} must be set in production")
    # Development: generate once and keep it under var/, so restarts can read old data.
    path = var / name.lower()
    if not path.exists():
        var.mkdir(parents=True, exist_ok=True)
        path.write_text(make(32))  # type: ignore[operator]
        path.chmod(0o600)
    return Secret(path.read_text().strip())
