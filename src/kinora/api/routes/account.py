"""Health, the caller's credits, and the signed file links the media object hands out."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse
from sqlalchemy import func, select, text

from kinora.api.deps import CustomerDep, RuntimeDep
from kinora.api.downloads import CONTENT_TYPES
from kinora.db.models import Customer, Media, MediaStatus
from kinora.errors import NotFoundError

router = APIRouter()


@router.get("/health", tags=["Other"], summary="Health")
def health(runtime: RuntimeDep) -> dict[str, Any]:
    with runtime.db.sessions() as s:
        s.execute(text("SELECT 1"))
        queued = s.scalar(
            select(func.count()).select_from(Media).where(Media.status == MediaStatus.QUEUED)
        )
        running = s.scalar(
            select(func.count()).select_from(Media).where(Media.status == MediaStatus.PROCESSING)
        )
    return {"status": "ok", "queued": queued or 0, "processing": running or 0}


@router.get("/credits", tags=["Account"], summary="Credits of the calling key")
def get_credits(runtime: RuntimeDep, customer: CustomerDep) -> dict[str, Any]:
    with runtime.db.sessions() as s:
        balance = s.scalar(select(Customer.credits).where(Customer.id == customer.id))
    return {"data": {"customer_id": customer.id, "credits": balance or 0}}


@router.get("/files/{key:path}", tags=["Files"], summary="A signed link to a stored file")
def signed_file(
    key: str, runtime: RuntimeDep, expires: int = 0, signature: str = ""
) -> FileResponse:
    if not runtime.signer.verify(key, expires, signature) or not runtime.storage.exists(key):
        raise NotFoundError()
    ext = key.rsplit(".", 1)[-1].lower()
    return FileResponse(
        runtime.storage.local_path(key),
        media_type=CONTENT_TYPES.get(ext, "application/octet-stream"),
        headers={"Cache-Control": "private, max-age=3600"},
    )
