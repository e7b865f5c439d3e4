"""Settings of the delivery console (a section the API's settings may carry as `console`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class ConsoleSettings(BaseModel):
    """How the console behaves; the defaults are what `make up` and production both want."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    # The file `make up` (infra/services.sh) generates with the local signing secret. Dev
    # sign-in exists only when the API verifies tokens with exactly the secret in this file,
    # and listens on a loopback address (see `dev_sign_in_allowed`).
    dev_secrets_file: Path = Path(".run/secrets.env")
    dev_token_ttl_s: int = Field(default=8 * 3600, gt=0, le=86_400)
    # Statistics read at most this many attempt logs (newest first) per integration page.
    stats_max_logs: int = Field(default=1000, ge=100, le=10_000)
    # Recent jobs shown on an integration's page.
    recent_jobs: int = Field(default=10, ge=1, le=50)
    # Characters of a response body shown per attempt (the rest is cut, and said so).
    body_preview_chars: int = Field(default=2000, ge=100, le=65_536)
