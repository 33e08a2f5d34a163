"""Settings from ``KINORA_*`` environment variables, built by a factory (never at import)."""

from __future__ import annotations

import contextlib
import math
import os
import re
import secrets
import sys
import tempfile
import time
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kinora.routing import Target, parse_routes


def default_models_dir() -> Path:
    """Where ``make install`` (``kinora models install``) puts the model files: inside the
    environment Kinora is installed in (``<sys.prefix>/share/kinora/models``, e.g.
    ``.venv/share/kinora/models``), so any data dir works with them."""
    return Path(sys.prefix) / "share" / "kinora" / "models"


LIPSYNC_ENGINES = ("fal", "kling")
"""Providers of ``KINORA_LIPSYNC_TARGET`` (kinora.pipeline.lipsync_step)."""

_PROVIDER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


def parse_provider_base_urls(text: str) -> dict[str, str]:
    """``KINORA_PROVIDER_BASE_URLS``: ``name=http(s)://host[:port][/path]`` pairs separated by
    commas or semicolons. Raises ValueError naming the first bad entry."""
    out: dict[str, str] = {}
    for entry in text.replace(";", ",").split(","):
        if not entry.strip():
            continue
        name, sep, url = (part.strip() for part in entry.partition("="))
        if not sep or not url:
            raise ValueError(f"provider base URLs: {entry.strip()!r} is not name=url")
        if not _PROVIDER_NAME.fullmatch(name):
            raise ValueError(f"provider base URLs: {name!r} is not a provider name")
        try:
            parts = urlsplit(url)
            host = parts.hostname
            _ = parts.port  # raises on a bad port
        except ValueError as exc:
            raise ValueError(f"provider base URLs: {name}={url!r}: {exc}") from None
        if parts.scheme not in ("http", "https") or not host:
            raise ValueError(f"provider base URLs: {name}={url!r} is not an http(s) URL")
        if name in out:
            raise ValueError(f"provider base URLs: {name!r} is given twice")
        out[name] = url
    return out


def parse_retry_delays(text: str) -> list[float]:
    """``KINORA_WEBHOOK_RETRY_DELAYS``: comma-separated seconds, each finite and >= 0."""
    delays: list[float] = []
    for item in text.split(","):
        if not item.strip():
            continue
        try:
            value = float(item)
        except ValueError:
            raise ValueError(f"webhook retry delays: {item.strip()!r} is not a number") from None
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"webhook retry delays: {item.strip()!r} is not a delay >= 0")
        delays.append(value)
    return delays


class Settings(BaseSettings):
    """Every setting is documented in docs/settings.md (a test checks that)."""

    model_config = SettingsConfigDict(env_prefix="KINORA_", extra="ignore")

    data_dir: Path = Field(default=Path("./data"), description="Database, queue and media files.")
    database_url: str = Field(default="", description="SQLAlchemy URL; default SQLite in data_dir.")
    queue_url: str = Field(
        default="", description="Huey backend: sqlite file (default), redis:// or postgresql://."
    )
    storage_url: str = Field(
        default="", description="Media files: empty for data_dir/media, or s3://bucket/prefix."
    )
    s3_endpoint: str = Field(
        default="", description="S3 endpoint URL for S3-compatible stores (SeaweedFS, MinIO...)."
    )
    s3_region: str = Field(default="us-east-1", description="S3 region (signing).")
    download_mode: str = Field(
        default="stream",
        description="S3 downloads: stream (through the API) or redirect (presigned SigV4 URLs).",
    )
    warm_up: bool = Field(
        default=True,
        description="Workers load the music SoundFont in the background when they start, so "
        "the first generation with music does not wait ~2 s for it.",
    )
    rendition_wait_seconds: float = Field(
        default=120.0,
        description="An API without embedded workers: how long a download waits for a worker "
        "to make a rendition (width, file_size, GIF) before answering 503 NOT_READY.",
    )
    max_concurrent_per_key: int = Field(
        default=0, description="Renders one key may have running at once (0: no cap)."
    )
    shutdown_timeout_seconds: float = Field(
        default=30.0,
        description="On SIGTERM a worker finishes its job for this long, then re-queues it.",
    )
    engine_routes: str = Field(
        default="",
        description="Engine per motion_type: MotionType=engine[:arg][?opts]|... "
        "(comma-separated) or a JSON object.",
    )
    presets: Literal["on", "off"] = Field(
        default="on",
        description="Shipped routes for the providers whose keys are set: each motion type "
        "without a KINORA_ENGINE_ROUTES entry runs on the matching model there "
        "(kinora.engines.presets). off: only KINORA_ENGINE_ROUTES routes.",
    )
    replicate_api_key: str = Field(default="", description="Replicate API token (the operator's).")
    fal_api_key: str = Field(default="", description="fal API key (the operator's own).")
    runway_api_key: str = Field(default="", description="Runway API key (the operator's own).")
    luma_api_key: str = Field(
        default="", description="Luma Dream Machine API key (the operator's)."
    )
    fashn_api_key: str = Field(
        default="", description="FASHN API key (the operator's own): FashnTryOn on FASHN's API."
    )
    kling_access_key: str = Field(
        default="", description="Kling API access key (the operator's): the JWT's issuer."
    )
    kling_secret_key: str = Field(
        default="", description="Kling API secret key (the operator's): signs each JWT."
    )
    gemini_api_key: str = Field(
        default="", description="Gemini API key (the operator's): Google Veo via the Gemini API."
    )
    minimax_api_key: str = Field(
        default="", description="MiniMax API key (the operator's): Hailuo on MiniMax's API."
    )
    pixverse_api_key: str = Field(
        default="", description="PixVerse API key (the operator's): PixVerse's platform API."
    )
    vidu_api_key: str = Field(
        default="", description="Vidu API key (the operator's): Shengshu's Vidu platform API."
    )
    byteplus_api_key: str = Field(
        default="", description="BytePlus ModelArk API key (the operator's): Seedance."
    )
    dashscope_api_key: str = Field(
        default="", description="DashScope API key (the operator's): Alibaba Wan."
    )
    lipsync_target: str = Field(
        default="",
        description="Hosted lip sync of rendered videos with speech and a face: "
        "fal:fal-ai/sync-lipsync[/v2], fal:fal-ai/latentsync or kling:lip-sync (options as "
        "in engine routes); empty: the built-in lip sync. The built-in is the fallback.",
    )
    provider_base_urls: str = Field(
        default="",
        description="Provider base URL overrides, e.g. replicate=http://host:port,fal=...; "
        "loopback allowed only for these.",
    )
    provider_timeout_seconds: float = Field(
        default=900.0, description="Longest wait for one provider job."
    )
    provider_poll_seconds: float = Field(
        default=2.0, description="Seconds between polls of a provider job."
    )
    provider_retries: int = Field(
        default=4, description="Retries of a provider call on transport errors, 429 and 5xx."
    )
    provider_backoff_seconds: float = Field(
        default=1.0, description="First retry delay; doubles each retry (Retry-After honoured)."
    )
    diffusers_device: str = Field(
        default="",
        description="Device for diffusers engines (cuda, cuda:1, mps, cpu); empty picks CUDA, "
        "then MPS, then CPU.",
    )
    models_dir: Path | None = Field(
        default=None,
        description="Model files (ISNet, icons); default inside the installation "
        "(<sys.prefix>/share/kinora/models, where `make install` puts them), not in data_dir.",
    )
    allow_degraded: bool = Field(
        default=False,
        description="`kinora serve` and `kinora worker` start (with a warning) even when an "
        "engine's model file is missing: one-image renders fall back to GrabCut, text renders "
        "fail. Otherwise they refuse to start (exit 2).",
    )
    keep_driver_sound: bool = Field(
        default=True,
        description="character_animate with a driving video keeps the video's own sound when "
        "it has any (narration, when given, replaces it); false drops it.",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000", description="Base URL used in links the API returns."
    )
    secret_key: str = Field(
        default="", description="Signs download URLs; default a random key kept in data_dir."
    )
    url_ttl_seconds: int = Field(default=7 * 24 * 3600, description="Lifetime of signed URLs.")
    allow_private_urls: bool = Field(
        default=False, description="Allow input and webhook URLs on private/loopback addresses."
    )
    max_upload_mb: float = Field(default=20.0, description="Largest accepted input file.")
    max_image_pixels: int = Field(
        default=40_000_000, description="Largest decoded image (decompression-bomb guard)."
    )
    fetch_timeout_seconds: float = Field(default=20.0, description="Total time for one URL fetch.")
    output_long_side: int = Field(default=1280, description="Long side of rendered videos.")
    fps: int = Field(default=24, description="Frame rate of rendered videos.")
    default_credits: int = Field(default=100, description="Credits of a new key by default.")
    workers: int = Field(default=1, description="Embedded worker threads in `kinora serve`.")
    job_lease_seconds: float = Field(
        default=60.0, description="A running job whose heartbeat is older is run again."
    )
    reaper_interval_seconds: float = Field(
        default=10.0, description="How often the reaper looks for lost jobs."
    )
    max_attempts: int = Field(default=3, description="Runs of one generation before it fails.")
    webhook_timeout_seconds: float = Field(default=10.0, description="Webhook POST timeout.")
    webhook_retry_delays: str = Field(
        default="5,300,1800,7200,18000,36000",
        description="Seconds before each webhook retry, comma-separated (count caps retries).",
    )
    rate_limit: str = Field(
        default="600/minute", description="Requests per API key (a `limits` rate string)."
    )
    create_rate_limit: str = Field(
        default="60/minute",
        description="Generation requests (create, edit that re-renders, process) per API key.",
    )
    rate_limit_storage_url: str = Field(
        default="memory://", description="Where rate-limit counters live (memory:// or redis://)."
    )
    idempotency_ttl_hours: float = Field(
        default=24.0, description="How long an Idempotency-Key's first response is replayed."
    )
    keep_alive_seconds: float = Field(
        default=5.0,
        gt=0,
        description="`kinora serve`: an idle kept-alive connection is closed after this long.",
    )
    max_header_bytes: int = Field(
        default=16384,
        ge=1024,
        description="`kinora serve`: the largest request line plus headers (bytes); a longer "
        "one is answered 400 and closed.",
    )
    header_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="`kinora serve`: a request's line and headers must all arrive within this "
        "long (from the connection's opening or the request's first byte); else 408, closed.",
    )
    render_memory_mb: int = Field(
        default=0,
        ge=0,
        description="Workers: the address-space limit (RLIMIT_AS) of each render child process, "
        "in MiB; a render that needs more fails with the reason. 0: 75 % of the machine's memory.",
    )
    status_cache_seconds: float = Field(
        default=0.25,
        ge=0,
        le=5,
        description="`kinora serve`: how long a processing-status answer is served again to "
        "other polls of the same media (what this process changes is forgotten at once; "
        "workers' progress shows within this long). 0: every poll reads the database.",
    )
    render_niceness: int = Field(
        default=10,
        ge=0,
        le=19,
        description="Workers: the niceness added to each render child process, so that the "
        "API and the worker's own bookkeeping (heartbeats, status reads) keep their share of "
        "the CPU while renders run. 0: render at the worker's own priority.",
    )
    render_time_limit_seconds: float = Field(
        default=600.0,
        gt=0,
        description="Workers: the time a render may take before its child process is stopped, "
        "plus KINORA_RENDER_SECONDS_PER_VIDEO_SECOND for each second of video asked for.",
    )
    render_seconds_per_video_second: float = Field(
        default=60.0,
        ge=0,
        description="Workers: what each second of video asked for (duration times variants) "
        "adds to KINORA_RENDER_TIME_LIMIT_SECONDS.",
    )
    body_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="`kinora serve`: the longest wait for the next bytes of a request body "
        "while the server is reading it; else 408, closed.",
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="`kinora serve` and `kinora worker` logs: text, or json (one JSON object "
        "per line, with request_id, media_id and generation).",
    )
    metrics: Literal["off", "open", "token"] = Field(
        default="off",
        description="GET /metrics (Prometheus): off (404), open, or token "
        "(Authorization: Bearer KINORA_METRICS_TOKEN).",
    )
    metrics_token: str = Field(
        default="", description="The bearer token GET /metrics wants when KINORA_METRICS=token."
    )
    forwarded_allow_ips: str = Field(
        default="",
        description="`kinora serve`: peers (comma-separated IPs or networks, or *) whose "
        "X-Forwarded-For and X-Forwarded-Proto headers are believed; empty trusts none.",
    )

    @field_validator("models_dir", mode="before")
    @classmethod
    def _empty_is_default(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("engine_routes")
    @classmethod
    def _check_routes(cls, value: str) -> str:
        parse_routes(value)  # a typo stops the process at start, not every render later
        return value

    @field_validator("lipsync_target")
    @classmethod
    def _check_lipsync_target(cls, value: str) -> str:
        if value.strip():  # a typo stops the process at start, not every lip sync later
            target = Target.parse(value)
            if target.engine not in LIPSYNC_ENGINES:
                raise ValueError(
                    f"lip-sync target {value!r}: the engine must be one of "
                    f"{', '.join(LIPSYNC_ENGINES)}"
                )
        return value

    @field_validator("provider_base_urls")
    @classmethod
    def _check_base_urls(cls, value: str) -> str:
        parse_provider_base_urls(value)
        return value

    @field_validator("webhook_retry_delays")
    @classmethod
    def _check_retry_delays(cls, value: str) -> str:
        parse_retry_delays(value)
        return value

    @model_validator(mode="after")
    def _check_metrics_token(self) -> Settings:
        if self.metrics == "token" and not self.metrics_token.strip():
            raise ValueError("KINORA_METRICS=token needs KINORA_METRICS_TOKEN")
        return self

    def model_post_init(self, __context: Any) -> None:
        self.data_dir = self.data_dir.expanduser().resolve()

    @property
    def retry_delays(self) -> list[float]:
        return parse_retry_delays(self.webhook_retry_delays)

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'kinora.db'}"

    @property
    def resolved_queue_url(self) -> str:
        return self.queue_url or f"sqlite:///{self.data_dir / 'queue.db'}"

    @property
    def resolved_models_dir(self) -> Path:
        return (self.models_dir or default_models_dir()).expanduser().resolve()

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def metrics_dir(self) -> Path:
        """Every process's counters for GET /metrics (kinora.telemetry)."""
        return self.data_dir / "metrics"

    def signing_key(self) -> bytes:
        """The configured secret, or one generated once and kept in the data dir."""
        if self.secret_key:
            return self.secret_key.encode()
        path = self.data_dir / "secret_key"
        if not path.exists():
            # Owner-only, and first writer wins: processes starting together (API and
            # workers) must all sign with the same key, so a later one never overwrites.
            self.data_dir.mkdir(parents=True, exist_ok=True)
            secret = secrets.token_urlsafe(32)
            fd, tmp = tempfile.mkstemp(dir=self.data_dir, prefix=".secret_key.")
            try:
                with os.fdopen(fd, "w") as f:
                    f.write(secret)
                os.chmod(tmp, 0o600)
                try:
                    os.link(tmp, path)
                except FileExistsError:
                    pass
                except OSError:  # no hard links here (some FUSE/SMB mounts): exclusive create
                    with contextlib.suppress(FileExistsError):
                        fd2 = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                        with os.fdopen(fd2, "w") as f:
                            f.write(secret)
            finally:
                os.unlink(tmp)
        for _ in range(50):  # a writer without hard links may still be writing
            key = path.read_text().strip()
            if key:
                return key.encode()
            time.sleep(0.01)
        raise RuntimeError(f"{path} is empty")


def build_settings(**overrides: Any) -> Settings:
    return Settings(**overrides)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
