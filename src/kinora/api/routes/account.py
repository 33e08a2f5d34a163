"""Health, the caller's credits, and the signed file links the media object hands out."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse, RedirectResponse
from sqlalchemy import func, select, text

from kinora.api.deps import RuntimeDep, get_customer
from kinora.api.downloads import CONTENT_TYPES
from kinora.api.ratelimit import LimitedCustomer
from kinora.api.schemas import MessageResponse
from kinora.config import Settings
from kinora.db.models import Customer, Media, MediaStatus, Worker, utcnow
from kinora.domain.webhooks import delivery_public, list_deliveries, redeliver
from kinora.engines.preflight import engine_report
from kinora.errors import AuthError, NotFoundError

router = APIRouter()

_AUTH: dict[int | str, dict[str, Any]] = {
    401: {"model": MessageResponse, "description": "Missing or unknown API key"},
    429: {"model": MessageResponse, "description": "Rate limited (see Retry-After)"},
}
_NOT_FOUND: dict[str, Any] = {"model": MessageResponse, "description": "Not Found"}


_FORWARDING = ("x-forwarded-for", "forwarded", "x-real-ip")


def _detailed(request: Request, runtime: RuntimeDep) -> bool:
    """Whether the caller may see worker hosts, pids and model paths: a loopback peer whose
    request was not forwarded by a proxy (a local proxy's requests all come from loopback;
    a trusted one, KINORA_FORWARDED_ALLOW_IPS, has the real peer put in place), or a
    caller with a valid API key."""
    peer = request.client.host if request.client else ""
    try:
        loopback = ipaddress.ip_address(peer).is_loopback
    except ValueError:
        loopback = False
    if loopback and not any(name in request.headers for name in _FORWARDING):
        return True
    key = request.headers.get("x-api-key")
    if not key:
        return False
    try:
        get_customer(runtime, key)
    except (AuthError, ValueError):
        return False
    return True


@router.get("/health", tags=["Other"], summary="Health")
def health(runtime: RuntimeDep, request: Request) -> dict[str, Any]:
    """Liveness plus what an operator watches: queue depth, workers seen, oldest wait, and
    what each engine runs on (``engines``: its models, e.g. ISNet or the GrabCut fallback).

    Worker hostnames and pids, and the models' paths, only for a loopback peer or a caller
    with a valid ``X-Api-Key``; anyone else gets the same fields without them."""
    now = utcnow()
    with runtime.db.sessions() as s:
        s.execute(text("SELECT 1"))
        queued = s.scalar(
            select(func.count()).select_from(Media).where(Media.status == MediaStatus.QUEUED)
        )
        running = s.scalar(
            select(func.count()).select_from(Media).where(Media.status == MediaStatus.PROCESSING)
        )
        oldest = s.scalar(
            select(func.min(Media.enqueued_at)).where(Media.status == MediaStatus.QUEUED)
        )
        recent = now - dt.timedelta(seconds=max(30.0, 3 * runtime.settings.reaper_interval_seconds))
        workers = s.scalars(select(Worker).where(Worker.seen_at >= recent)).all()
    try:
        depth: int | None = int(runtime.huey.pending_count())
    except Exception:
        depth = None
    detailed = _detailed(request, runtime)
    engines = _engines(runtime.settings)
    oldest_age = None
    if oldest is not None:
        oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=dt.UTC)
        oldest_age = round((now - oldest).total_seconds(), 1)
    return {
        "status": "ok",
        "queued": queued or 0,
        "processing": running or 0,
        "queue_depth": depth,
        "oldest_queued_seconds": oldest_age,
        "workers": [
            {"id": w.id, "hostname": w.hostname, "pid": w.pid, "threads": w.threads}
            if detailed
            else {"threads": w.threads}
            for w in workers
        ],
        "engines": engines if detailed else _without_paths(engines, runtime.settings),
    }


def _without_paths(
    engines: dict[str, dict[str, str]], settings: Settings
) -> dict[str, dict[str, str]]:
    """The engine report with the models dir taken out of its messages (file names stay)."""
    prefix = str(settings.resolved_models_dir) + os.sep
    return {
        name: {field: value.replace(prefix, "") for field, value in entry.items()}
        for name, entry in engines.items()
    }


def _engines(settings: Settings) -> dict[str, dict[str, str]]:
    """What each enabled engine runs on, as this process sees its models dir."""

    try:
        return engine_report(settings)
    except Exception as exc:  # health stays up whatever an engine's metadata does
        return {"error": {"models": f"unknown: {type(exc).__name__}: {exc}"}}


@router.get("/credits", tags=["Account"], summary="Credits of the calling key", responses=_AUTH)
def get_credits(runtime: RuntimeDep, customer: LimitedCustomer) -> dict[str, Any]:
    with runtime.db.sessions() as s:
        balance = s.scalar(select(Customer.credits).where(Customer.id == customer.id))
    return {"data": {"customer_id": customer.id, "credits": balance or 0}}


@router.get(
    "/files/{key:path}",
    tags=["Files"],
    summary="A signed link to a stored file",
    response_class=FileResponse,
    responses={
        200: {
            "content": {
                ctype: {} for ctype in sorted({*CONTENT_TYPES.values(), "application/octet-stream"})
            },
            "description": "The file",
        },
        307: {"description": "Redirect to a presigned storage URL (download_mode=redirect)"},
        404: {"model": MessageResponse, "description": "Unknown file, or a bad or expired link"},
    },
)
def signed_file(
    key: str, runtime: RuntimeDep, expires: int = 0, signature: str = ""
) -> FileResponse:
    if not runtime.signer.verify(key, expires, signature) or not runtime.storage.exists(key):
        raise NotFoundError()
    if runtime.settings.download_mode == "redirect":
        url = runtime.storage.presigned_url(key, ttl_seconds=300)
        if url:
            return RedirectResponse(url, status_code=307)  # type: ignore[return-value]
    ext = key.rsplit(".", 1)[-1].lower()
    return FileResponse(
        runtime.storage.local_path(key),
        media_type=CONTENT_TYPES.get(ext, "application/octet-stream"),
        headers={"Cache-Control": "private, max-age=3600"},
    )


@router.get(
    "/webhooks/secret",
    tags=["Webhooks"],
    summary="Your webhook signing secret",
    responses=_AUTH,
)
def webhook_secret(runtime: RuntimeDep, customer: LimitedCustomer) -> dict[str, Any]:
    """Verify deliveries with it (Standard Webhooks: webhook-id, -timestamp, -signature)."""
    with runtime.db.sessions() as s:
        secret = s.scalar(select(Customer.webhook_secret).where(Customer.id == customer.id))
    return {"data": {"secret": secret or ""}}


@router.get(
    "/webhooks/deliveries",
    tags=["Webhooks"],
    summary="Delivery attempts, newest first",
    responses=_AUTH,
)
def webhook_deliveries(
    runtime: RuntimeDep,
    customer: LimitedCustomer,
    media_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    records = list_deliveries(runtime, customer_id=customer.id, media_id=media_id, limit=limit)
    return {"data": [delivery_public(r) for r in records]}


@router.post(
    "/webhooks/deliveries/{delivery_id}/redeliver",
    tags=["Webhooks"],
    summary="Send an event again (same webhook-id)",
    responses={**_AUTH, 404: _NOT_FOUND},
)
def webhook_redeliver(
    delivery_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    runtime: RuntimeDep,
    customer: LimitedCustomer,
) -> dict[str, Any]:
    webhook_id = redeliver(runtime, customer_id=customer.id, delivery_id=delivery_id)
    return {"data": {"webhook_id": webhook_id, "queued": True}}
