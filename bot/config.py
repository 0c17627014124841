"""Every knob of the bot, read from the environment and `.env` (names per ../shared/DESIGN.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.jobs.model import ProviderName

IdList = Annotated[frozenset[int], NoDecode]

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

    provider: ProviderName = ProviderName.FLOW
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
                     mode="before")
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

    @field_validator("allowed_user_ids", "admin_user_ids", mode="before")
    @classmethod
    def _parse_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(int(part) for part in value.replace(" ", "").split(",") if part)
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
