"""Every knob of the bot, read from the environment and `.env` (names per ../shared/DESIGN.md)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from bot import texts
from bot.jobs.model import ProviderName

IdList = Annotated[frozenset[int], NoDecode]
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
#: What an older .env.example held in place of a secret: never to be sent anywhere.
PLACEHOLDER = "replace-me"

#: The Gemini defaults of the contract (rows of `bot.providers.catalog`, which tests keep in step):
#: Omni on the Developer API; Veo 3.1 GA on Agent Platform, where the video model depends on it.
GEMINI_IMAGE_MODEL = "gemini-3.1-flash-image"
GEMINI_VIDEO_MODEL = "gemini-omni-1.1-flash"
GEMINI_VERTEX_VIDEO_MODEL = "veo-3.1-fast-generate-001"
#: The useapi.net defaults of the contract (rows of the catalog too).
USEAPI_URL = "https://api.useapi.net/v1/google-flow"
USEAPI_IMAGE_MODEL = "nano-banana-pro"
USEAPI_VIDEO_MODEL = "veo-3.1-fast"


class Settings(BaseSettings):
    """The configuration contract. Secrets are `SecretStr` so they never print by accident."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    telegram_bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    flow_proxy_url: str = "https://flow-api.nanoai.pics/api/fix"
    flow_proxy_token: SecretStr | None = None
    flow_api_url: str = "https://aisandbox-pa.googleapis.com"
    flow_bearer_token: SecretStr | None = None
    flow_project_id: str = ""
    flow_poll_interval: float = Field(default=5.0, gt=0)
    database_path: Path = Path("data/bot.sqlite3")
    allowed_user_ids: IdList = frozenset()
    admin_user_ids: IdList = frozenset()
    flow_session_url: str = "https://labs.google/fx/api/auth/session"
    bot_secret_key: SecretStr | None = None
    daily_video_limit: int | None = Field(default=None, ge=1)

    # Beyond the contract: sensible defaults, documented in README and .env.example.
    max_jobs_per_user: int = Field(default=2, ge=1)
    render_timeout: float = Field(default=600.0, gt=0)
    submit_timeout: float = Field(default=300.0, gt=0)
    prompt_max_chars: int = Field(default=1000, ge=1)
    progress_edit_interval: float = Field(default=3.0, ge=0)
    telegram_chat_interval: float = Field(default=1.1, ge=0)
    telegram_global_rate: float = Field(default=28.0, gt=0)
    max_upload_mb: float = Field(default=50.0, gt=0)
    http_timeout: float = Field(default=60.0, gt=0)
    retry_attempts: int = Field(default=5, ge=1)
    retry_max_seconds: float = Field(default=60.0, gt=0)
    retry_base_delay: float = Field(default=1.0, ge=0)
    token_renew_margin: float = Field(default=300.0, ge=0)
    album_wait: float = Field(default=0.8, gt=0)  #: seconds of quiet that end an album's photos
    #: seconds between two runs of the health canary (doctor's checks), and between two looks at
    #: a disconnected useapi account while jobs wait on it; 0 = off (they resume at the next start)
    health_check_interval: float = Field(default=600.0, ge=0)
    #: days a picture the bot made, or a user's photo, is kept beside the database (so a later
    #: job can hand it to another provider); 0 = forever
    files_keep_days: float = Field(default=7.0, ge=0)

    provider: ProviderName = ProviderName.FLOW
    #: a second provider for jobs the first refused before any charge (checked by `doctor`)
    fallback_provider: ProviderName | None = None
    gemini_api_key: SecretStr | None = None
    gemini_api_url: str | None = None
    gemini_vertex: bool = False
    gemini_project: str | None = None
    gemini_location: str | None = None
    gemini_image_model: str = GEMINI_IMAGE_MODEL
    #: empty means the default of the chosen API (see `_gemini_video_default`)
    gemini_video_model: str = ""
    useapi_token: SecretStr | None = None
    useapi_url: str = USEAPI_URL
    #: the Google account every useapi.net call names; None: useapi picks the healthiest one
    useapi_email: str | None = None
    useapi_image_model: str = USEAPI_IMAGE_MODEL
    useapi_video_model: str = USEAPI_VIDEO_MODEL
    log_level: str = "INFO"

    @field_validator("daily_video_limit", "bot_secret_key", "gemini_api_key", "gemini_api_url",
                     "gemini_project", "gemini_location", "useapi_token", "useapi_email",
                     "fallback_provider", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("gemini_image_model", "gemini_video_model", mode="before")
    @classmethod
    def _model_name(cls, value: object) -> object:
        """`models/x` or ` x ` name the model `x`; an empty value means the default."""
        if isinstance(value, str):
            return value.strip().rsplit("models/", 1)[-1]
        return value

    @model_validator(mode="after")
    def _gemini_video_default(self) -> Settings:
        if not self.gemini_image_model:
            self.gemini_image_model = GEMINI_IMAGE_MODEL
        if not self.gemini_video_model:
            self.gemini_video_model = (GEMINI_VERTEX_VIDEO_MODEL if self.gemini_vertex
                                       else GEMINI_VIDEO_MODEL)
        return self

    @field_validator("telegram_bot_token", "flow_proxy_token", "flow_bearer_token", mode="before")
    @classmethod
    def _blank_secret_is_unset(cls, value: object) -> object:
        """`FLOW_BEARER_TOKEN=` (as in .env.example) means "not set", never an empty token."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("allowed_user_ids", "admin_user_ids", mode="before")
    @classmethod
    def _parse_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part for part in value.replace(" ", "").split(",") if part]
            wrong = next((part for part in parts if not part.isdigit()), None)
            if wrong is not None:
                hint = (f"{wrong} is a username; a user sees their id by sending /start to the bot"
                        if wrong.startswith("@") else f"{wrong} is not a number")
                raise ValueError("use numeric Telegram user ids separated by commas, e.g. "
                                 f"123456789,987654321 ({hint})")
            return frozenset(int(part) for part in parts)
        if isinstance(value, int):
            return frozenset({value})
        return value

    @field_validator("useapi_image_model", "useapi_video_model", mode="before")
    @classmethod
    def _useapi_model(cls, value: object, info: ValidationInfo) -> object:
        """An empty value means the contract's default."""
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return (USEAPI_IMAGE_MODEL if info.field_name == "useapi_image_model"
                        else USEAPI_VIDEO_MODEL)
        return value

    @field_validator("telegram_api_url", "flow_proxy_url", "flow_api_url", "flow_session_url",
                     "useapi_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("telegram_api_url", "flow_proxy_url", "flow_api_url", "flow_session_url")
    @classmethod
    def _full_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("write the whole address, starting with https:// (or http://)")
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.upper() not in LOG_LEVELS:
            raise ValueError(f"use one of {', '.join(LOG_LEVELS)}")
        return value

    def secrets(self) -> list[str]:
        """Every secret value that is set, to be masked in logs before anything logs."""
        values = (getattr(self, name) for name in type(self).model_fields)
        return [value.get_secret_value() for value in values
                if isinstance(value, SecretStr) and value.get_secret_value()]

    @property
    def files_dir(self) -> Path:
        """Where downloads wait for delivery; beside the database so they survive a restart."""
        return self.database_path.parent / "files"

    @field_validator("gemini_api_url")
    @classmethod
    def _strip_optional_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else None

    @property
    def gemini_media_dir(self) -> Path:
        """Pictures and videos of the Gemini provider, kept so their handles survive a restart."""
        return self.database_path.parent / "gemini"

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


class ConfigError(Exception):
    """The settings cannot be read: `sentences` name each variable, where it is set, and the fix."""

    def __init__(self, sentences: list[str]) -> None:
        super().__init__(" ".join(sentences))
        self.sentences = sentences


def load_settings(**values: Any) -> Settings:
    """`Settings(...)`, with every invalid variable turned into one sentence (`ConfigError`)."""
    try:
        return Settings(**values)
    except ValidationError as exc:
        raise ConfigError([_sentence(error) for error in exc.errors()]) from None
    except SettingsError as exc:
        raise ConfigError([texts.cli("config_unreadable", error=exc)]) from None


def missing_credentials(settings: Settings, provider: ProviderName) -> list[str]:
    """The variables `provider` needs for a job that are unset (or still a placeholder)."""
    if provider == ProviderName.GEMINI:
        # Agent Platform without a key runs on Application Default Credentials and a project.
        if _given(settings.gemini_api_key) or (settings.gemini_vertex and settings.gemini_project):
            return []
        return ["GEMINI_API_KEY"]
    if provider == ProviderName.FLOW:
        needed = {"FLOW_BEARER_TOKEN": settings.flow_bearer_token,
                  "FLOW_PROXY_TOKEN": settings.flow_proxy_token,
                  "FLOW_PROJECT_ID": settings.flow_project_id}
        return [name for name, value in needed.items() if not _given(value)]
    return []


def is_placeholder(value: str) -> bool:
    return PLACEHOLDER in value.lower()


def _given(value: SecretStr | str | None) -> bool:
    plain = value.get_secret_value() if isinstance(value, SecretStr) else value
    return bool(plain and plain.strip() and not is_placeholder(plain))


_EXAMPLES = {"daily_video_limit": "20"}  # fields whose default (None) is no example


def _sentence(error: ErrorDetails) -> str:
    field = str(error["loc"][0]) if error["loc"] else ""
    name = field.upper()
    info = Settings.model_fields.get(field)
    secret = info is not None and "SecretStr" in str(info.annotation)
    shown = "" if secret else f"={str(error['input'])[:60]}"
    return texts.cli("config_invalid", setting=f"{name}{shown}", where=_where(name),
                     fix=_fix(field, error))


def _where(name: str) -> str:
    """Where a variable was read from (the environment wins over .env, as in Settings)."""
    if any(key.upper() == name for key in os.environ):
        return "in the environment "
    return "in .env " if Path(".env").is_file() else ""


def _fix(field: str, error: ErrorDetails) -> str:
    kind, ctx = error["type"], error.get("ctx", {})
    info = Settings.model_fields.get(field)
    default = info.default if info is not None else None
    example = _EXAMPLES.get(field) or (_number(default) if isinstance(default, int | float)
                                       and not isinstance(default, bool) else "")
    eg = f", e.g. {field.upper()}={example}" if example else ""
    if kind == "enum":
        return f"use {str(ctx.get('expected', '')).replace(chr(39), '')}"
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return f"write a whole number{eg}"
    if kind in ("float_parsing", "float_type", "finite_number"):
        return f"write a plain number, without a unit{eg}"
    if kind == "greater_than":
        return f"it must be more than {_number(ctx.get('gt'))}{eg}"
    if kind == "greater_than_equal":
        return f"it must be at least {_number(ctx.get('ge'))}{eg}"
    if kind == "bool_parsing":
        return "write true or false"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return error["msg"][:1].lower() + error["msg"][1:]


def _number(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
