"""The FastAPI application. One place maps Kinora errors to HTTP."""

from __future__ import annotations

import gc
import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp

from kinora import studio, telemetry
from kinora.api import observe
from kinora.api.ratelimit import RateLimits
from kinora.api.routes import account, batches, media, models, vocabulary
from kinora.api.schemas import MediaCreate, MediaExtend, MediaUpdate
from kinora.api.statuscache import StatusCache
from kinora.config import Settings, get_settings
from kinora.errors import InputError, KinoraError
from kinora.jobs.worker import WorkerHost
from kinora.runtime import Runtime, build_runtime

log = logging.getLogger(__name__)

HTTP_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}


MAX_ERRORS = 20
"""At most this many errors listed in a 422, then one entry counting the rest."""


def _detail(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    more = 0
    if len(errors) > MAX_ERRORS + 1:  # 20 listed and one counting the rest pass as they are
        more = len(errors) - MAX_ERRORS
        errors = errors[:MAX_ERRORS]
    for err in errors:
        item = {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type")}
        value = err.get("input")
        if isinstance(value, float) and not math.isfinite(value):
            value = str(value)  # NaN/Infinity (JSON bodies may carry them) are not valid JSON
        if isinstance(value, str | int | float | bool) and len(str(value)) <= 200:
            item["input"] = value
        out.append(item)
    if more > 0:
        out.append(
            {
                "loc": ["body"],
                "msg": f"{more} more errors not listed (the first {MAX_ERRORS} are)",
                "type": "too_many_errors",
                "input": more,
            }
        )
    encoded: list[dict[str, Any]] = jsonable_encoder(out)
    return encoded


def _refuse_nul(request: Request) -> None:
    """NUL never belongs in a path or query, and PostgreSQL cannot even compare it: refuse it
    before any route reads it (bodies are checked by their schemas)."""
    if "\x00" in request.scope.get("path", ""):
        raise InputError(("path",), "NUL characters are not allowed")
    for name, value in request.query_params.multi_items():
        if "\x00" in name or "\x00" in value:
            raise InputError(("query", name.replace("\x00", "")), "NUL characters are not allowed")


class KinoraApp(FastAPI):
    """FastAPI with :class:`~kinora.api.observe.RequestObserver` outermost: outside
    Starlette's error middleware (``add_middleware`` puts a middleware inside it), so a 500
    from an unhandled error is counted and carries its request id like any other answer."""

    observe_metrics: bool = False

    def build_middleware_stack(self) -> ASGIApp:
        return observe.RequestObserver(
            super().build_middleware_stack(), metrics=self.observe_metrics
        )


def create_app(settings: Settings | None = None, *, workers: int | None = None) -> FastAPI:
    """The app; with ``workers`` > 0 it also hosts a Huey consumer for its lifetime."""
    settings = settings or get_settings()
    if settings.metrics != "off":
        telemetry.enable(settings.metrics_dir)  # before the embedded workers record anything
    runtime = build_runtime(settings)
    n_workers = settings.workers if workers is None else workers
    runtime.hosts_workers = n_workers > 0

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Everything imported and built so far lives as long as the process: out of the
        # collector's sight, a full collection no longer walks the framework's hundreds of
        # thousands of objects (tens of milliseconds, in the middle of some request).
        gc.collect()
        gc.freeze()
        host = None
        if n_workers > 0:
            host = WorkerHost(runtime, workers=n_workers)
            host.start()
        try:
            yield
        finally:
            if host is not None:
                host.stop()

    app = KinoraApp(
        title="Kinora",
        version="0.1.0",
        description="Open, self-hostable media-animation API speaking the Vimmerse media API.",
        lifespan=lifespan,
        dependencies=[Depends(_refuse_nul)],
    )
    app.observe_metrics = settings.metrics != "off"
    app.state.runtime = runtime
    app.state.status_cache = StatusCache(settings.status_cache_seconds)
    app.state.metrics_registry = observe.metrics_registry(runtime)
    app.state.rate_limits = RateLimits(
        storage_url=settings.rate_limit_storage_url,
        general=settings.rate_limit,
        generation=settings.create_rate_limit,
    )

    @app.exception_handler(KinoraError)
    async def _kinora_error(request: Request, exc: KinoraError) -> JSONResponse:
        if isinstance(exc, InputError):
            return JSONResponse(
                status_code=422,
                content={
                    "detail": _detail([{"loc": exc.loc, "msg": exc.message, "type": exc.kind}])
                },
            )
        body: dict[str, Any] = {"message": exc.code}
        if exc.message != exc.code:
            body["detail"] = exc.message
        return JSONResponse(status_code=exc.status_code, content=body, headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        """Unrouted paths and wrong methods answer in the API's own error shape."""
        code = HTTP_CODES.get(exc.status_code, "ERROR")
        body: dict[str, Any] = {"message": code}
        if isinstance(exc.detail, str) and exc.detail.upper().replace(" ", "_") != code:
            body["detail"] = exc.detail
        return JSONResponse(status_code=exc.status_code, content=body, headers=exc.headers)

    @app.exception_handler(OSError)
    async def _storage_error(request: Request, exc: OSError) -> JSONResponse:
        """Disk full, read-only or unreachable storage: the caller may retry later."""
        log.error("storage error on %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse(
            status_code=503,
            content={"message": "STORAGE_UNAVAILABLE", "detail": "storage is not writable now"},
            headers={"Retry-After": "30"},
        )

    @app.exception_handler(DBAPIError)
    async def _database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        """The database is restarting or unreachable: nothing was committed; retry later."""
        if not exc.connection_invalidated and not isinstance(
            exc, OperationalError | InterfaceError
        ):
            raise exc
        log.error("database error on %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse(
            status_code=503,
            content={"message": "DATABASE_UNAVAILABLE", "detail": "the database is not reachable"},
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(ClientDisconnect)
    async def _client_gone(request: Request, exc: ClientDisconnect) -> Response:
        """The client hung up (or was timed out, :mod:`kinora.api.protocol`) before its body
        was read: nothing was done and nobody is left to answer; not a server error."""
        log.info("client went away during %s %s", request.method, request.url.path)
        return Response(status_code=400)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": _detail(list(exc.errors()))})

    # Before media's: /media/batch is not a media id.
    app.include_router(batches.router)
    app.include_router(media.router)
    app.include_router(account.router)
    app.include_router(models.router)
    app.include_router(vocabulary.router)
    app.include_router(studio.router)
    app.include_router(observe.router)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (MediaCreate, MediaUpdate, MediaExtend):
            model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, sub in model_schema.pop("$defs", {}).items():
                components[name] = sub
            components[model.__name__] = model_schema
        schema.setdefault("components", {})["securitySchemes"] = {
            "APIKeyHeader": {"type": "apiKey", "in": "header", "name": "X-Api-Key"}
        }
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def runtime_of(app: FastAPI) -> Runtime:
    runtime: Runtime = app.state.runtime
    return runtime
