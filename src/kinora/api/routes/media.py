"""The spec's media endpoints."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse
from pydantic import ValidationError

from kinora.api.deps import BodyDep, CustomerDep, RuntimeDep
from kinora.api.downloads import resolve_download
from kinora.db.models import Media
from kinora.errors import MediaNotFoundError, NotFoundError
from kinora.media import service
from kinora.media.schemas import (
    CreditsRequired,
    MediaCreate,
    MediaEnvelope,
    MediaUpdate,
    MessageResponse,
    ProcessingStatusEnvelope,
)
from kinora.media.views import media_public

router = APIRouter(tags=["Media"])

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": MessageResponse, "description": "Bad Request"},
    401: {"model": MessageResponse, "description": "Missing or unknown API key"},
    402: {"model": MessageResponse, "description": "Insufficient Credit"},
    404: {"model": MessageResponse, "description": "Not Found"},
}


def _body_schema(name: str) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{name}"}
    return {
        "requestBody": {
            "content": {
                "multipart/form-data": {"schema": ref},
                "application/x-www-form-urlencoded": {"schema": ref},
                "application/json": {"schema": ref},
            }
        }
    }


def _validate(model: type[MediaCreate] | type[MediaUpdate], fields: dict[str, Any]) -> Any:
    from fastapi.exceptions import RequestValidationError

    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        errors = [
            {**err, "loc": ("body", *err["loc"])}
            for err in exc.errors(include_url=False, include_context=False)
        ]
        raise RequestValidationError(errors) from None


@router.post(
    "/media",
    summary="Create Media",
    response_model=MediaEnvelope | dict[Literal["data"], CreditsRequired],
    responses=ERRORS,
    openapi_extra=_body_schema("MediaCreate"),
)
def create_media(
    runtime: RuntimeDep,
    customer: CustomerDep,
    body: BodyDep,
    dry_run: Annotated[bool, Query(description="Validate and price; create nothing.")] = False,
) -> dict[str, Any]:
    request = _validate(MediaCreate, body.fields)
    created = service.create_media(
        runtime, customer=customer, request=request, uploads=body.uploads, dry_run=dry_run
    )
    if created.media is None:
        return {"data": {"credits_required": created.credits_required}}
    return {"data": media_public(created.media, runtime)}


@router.get(
    "/media/{media_id}/processing-status",
    summary="Get Media Processing Status",
    response_model=ProcessingStatusEnvelope,
    responses={404: ERRORS[404]},
)
def processing_status(media_id: str, runtime: RuntimeDep) -> dict[str, Any]:
    """Open without a key, as in the spec: anyone holding the id may poll progress."""
    with runtime.db.sessions() as s:
        media = s.get(Media, media_id)
        if media is None:
            raise NotFoundError()
        return {
            "data": {
                "progress_percentage": str(media.progress),
                "processing_status": media.status,
            }
        }


@router.get(
    "/media/{media_id}",
    summary="Get Media",
    response_model=MediaEnvelope,
    responses={401: ERRORS[401], 404: {"model": MessageResponse, "description": "Media Not Found"}},
)
def get_media(media_id: str, runtime: RuntimeDep, customer: CustomerDep) -> dict[str, Any]:
    with runtime.db.sessions() as s:
        media = service.get_media(s, media_id=media_id, customer=customer)
        return {"data": media_public(media, runtime)}


def _update(
    media_id: str, runtime: RuntimeDep, customer: CustomerDep, body: BodyDep
) -> dict[str, Any]:
    request = _validate(MediaUpdate, body.fields)
    if body.uploads:
        from kinora.errors import InputError

        raise InputError(("body", "image_files"), "send new inputs as media_items on edit")
    media = service.update_media(runtime, customer=customer, media_id=media_id, request=request)
    return {"data": media_public(media, runtime)}


router.add_api_route(
    "/media/{media_id}",
    _update,
    methods=["PUT"],
    summary="Update Media",
    response_model=MediaEnvelope,
    responses=ERRORS,
    openapi_extra=_body_schema("MediaUpdate"),
    operation_id="update_media_put",
)
router.add_api_route(
    "/media/{media_id}/edit",
    _update,
    methods=["PUT"],
    summary="Update Media (edit)",
    response_model=MediaEnvelope,
    responses=ERRORS,
    openapi_extra=_body_schema("MediaUpdate"),
    operation_id="update_media_edit_put",
)


@router.get(
    "/media/{media_id}/download",
    summary="Download File",
    response_class=FileResponse,
    responses={
        200: {"content": {"video/mp4": {}, "image/gif": {}, "image/jpeg": {}}},
        400: ERRORS[400],
        401: ERRORS[401],
        404: ERRORS[404],
    },
)
def download(
    media_id: str,
    request: Request,
    runtime: RuntimeDep,
    customer: CustomerDep,
    object_type: Literal[
        "bullet_video_mp4", "bullet_video_gif", "thumbnail_jpg", "source"
    ] = "bullet_video_mp4",
    motion_type: str | None = None,
    width: Annotated[int | None, Query(ge=16, le=3840)] = None,
    file_size: Annotated[float | None, Query(gt=0, le=1000)] = None,
    index: Annotated[int, Query(ge=0, le=3)] = 0,
) -> FileResponse:
    with runtime.db.sessions() as s:
        try:
            media = service.get_media(s, media_id=media_id, customer=customer)
        except MediaNotFoundError:
            raise NotFoundError() from None
        found = resolve_download(
            runtime, media, object_type=object_type, width=width, file_size=file_size, index=index
        )
    return FileResponse(
        found.path,
        media_type=found.media_type,
        filename=found.filename,
        content_disposition_type="inline",
    )


@router.post(
    "/media/{media_id}/process",
    summary="Process Media",
    response_model=MediaEnvelope,
    responses=ERRORS,
)
def process(media_id: str, runtime: RuntimeDep, customer: CustomerDep) -> dict[str, Any]:
    media = service.process_media(runtime, customer=customer, media_id=media_id)
    return {"data": media_public(media, runtime)}
