"""Batches (beyond the spec): many media from one request, charged all or nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError

from kinora.api.deps import BodyDep, RuntimeDep
from kinora.api.idempotency import request_hash, run_once
from kinora.api.ratelimit import GenerationCustomer, LimitedCustomer
from kinora.api.routes.media import ERRORS, IdempotencyKey, validate_fields
from kinora.api.schemas import BatchEnvelope, CreditsRequired, MediaCreate, MessageResponse
from kinora.db.models import Customer
from kinora.domain import batches as service
from kinora.domain.batchstatus import batch_public, get_batch
from kinora.domain.media import OnCommit
from kinora.domain.requests import BatchCreate
from kinora.runtime import Runtime

router = APIRouter(tags=["Batches"])


def _items(body: BatchCreate) -> list[MediaCreate]:
    """Each item as ``POST /media`` validates it, its errors located in ``items``."""
    out: list[MediaCreate] = []
    for i, item in enumerate(body.items):
        try:
            out.append(validate_fields(MediaCreate, item))
        except RequestValidationError as exc:
            errors = [
                {**err, "loc": ("body", "items", i, *tuple(err["loc"])[1:])} for err in exc.errors()
            ]
            raise RequestValidationError(errors) from None
    return out


@router.post(
    "/media/batch",
    summary="Create a batch of media",
    response_model=BatchEnvelope | dict[Literal["data"], CreditsRequired],
    responses=ERRORS,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/BatchCreate"}}
            }
        }
    },
)
def create_batch(
    request: Request,
    runtime: RuntimeDep,
    customer: GenerationCustomer,
    body: BodyDep,
    idempotency_key: IdempotencyKey = None,
    dry_run: Annotated[bool, Query(description="Validate and price; create nothing.")] = False,
) -> dict[str, Any]:
    if body.uploads:
        raise RequestValidationError(
            [
                {
                    "loc": ("body", "image_files"),
                    "msg": "a batch takes image URLs (image_urls, media_items), not uploads",
                    "type": "value_error",
                }
            ]
        )
    fields = validate_fields(BatchCreate, body.fields)
    items = _items(fields)

    def create(on_commit: OnCommit | None) -> dict[str, Any]:
        created = service.create_batch(
            runtime,
            customer=customer,
            items=items,
            webhook_url=fields.webhook_url,
            metadata=fields.metadata,
            dry_run=dry_run,
            on_commit=on_commit,
        )
        if created.batch is None:
            return {"data": {"credits_required": created.credits_required}}
        with runtime.db.sessions() as s:
            return {"data": batch_public(s, created.batch)}

    if dry_run:
        return create(None)
    return run_once(
        runtime,
        customer_id=customer.id,
        key=idempotency_key,
        fingerprint=request_hash("POST", request.url.path, body),
        action=create,
        replay_media=_replayer(runtime, customer),
    )


def _replayer(runtime: Runtime, customer: Customer) -> Callable[[str], dict[str, Any]]:
    """The batch an idempotent attempt committed, as the answer to its retries."""

    def replay(batch_id: str) -> dict[str, Any]:
        with runtime.db.sessions() as s:
            return {"data": batch_public(s, get_batch(s, batch_id=batch_id, customer=customer))}

    return replay


@router.get(
    "/batches/{batch_id}",
    summary="Get a batch",
    response_model=BatchEnvelope,
    responses={
        401: ERRORS[401],
        404: {"model": MessageResponse, "description": "Batch Not Found"},
        429: ERRORS[429],
    },
)
def get(batch_id: str, runtime: RuntimeDep, customer: LimitedCustomer) -> dict[str, Any]:
    with runtime.db.sessions() as s:
        return {"data": batch_public(s, get_batch(s, batch_id=batch_id, customer=customer))}
