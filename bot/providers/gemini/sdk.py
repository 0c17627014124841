"""The google-genai client both the provider and `doctor`'s model look-up use."""

from __future__ import annotations

from google import genai
from google.auth.exceptions import GoogleAuthError
from google.genai import types


def sdk_client(*, vertex: bool, api_key: str | None, project: str | None,
                location: str | None, options: types.HttpOptions
                ) -> tuple[genai.Client | None, str | None]:
    """The SDK client, or None and why not. Without a key the Developer API is not tried (the
    SDK would otherwise fall back on GOOGLE_API_KEY from the environment)."""
    if not vertex and not api_key:
        return None, "no API key is set (GEMINI_API_KEY)"
    try:
        return genai.Client(vertexai=vertex, api_key=api_key or None, project=project,
                            location=location, http_options=options), None
    except (ValueError, GoogleAuthError) as exc:  # Agent Platform without a key, project or ADC
        return None, (f"Agent Platform needs GEMINI_API_KEY or GEMINI_PROJECT and credentials "
                      f"({exc})")
