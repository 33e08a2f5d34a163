"""Log lines that say which request or job they belong to.

Three context variables carry the ids: ``request_id`` (set by the API's request middleware,
:mod:`kinora.api.observe`) and ``media_id`` with ``generation`` (set by the runner around a
render, :func:`job_context`). A filter on the handler copies them onto every record, so any
``logging.getLogger(__name__)`` line anywhere (domain, pipeline, engines) carries them without
knowing about them, and nothing below this module imports it to log.

``KINORA_LOG_FORMAT=json`` (:func:`configure_logging`) writes one JSON object per line:
``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, the context ids that are set,
the extra fields a call passed (``extra={...}``), and ``exception`` (the traceback) when there
is one. ``text`` (the default) is the human format, with the ids appended in brackets.

Context variables follow asyncio tasks and ``contextvars.copy_context``, not new threads: a
thread started inside a job (the heartbeat) logs without the job's ids unless it is started
in a copy of the context.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Literal

LogFormat = Literal["text", "json"]

request_id: ContextVar[str | None] = ContextVar("kinora_request_id", default=None)
media_id: ContextVar[str | None] = ContextVar("kinora_media_id", default=None)
generation: ContextVar[int | None] = ContextVar("kinora_generation", default=None)

CONTEXT_FIELDS = ("request_id", "media_id", "generation")
_VARS: tuple[tuple[str, ContextVar[Any]], ...] = (
    ("request_id", request_id),
    ("media_id", media_id),
    ("generation", generation),
)

_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's copy of the message with terminal colours
}
"""Attributes every LogRecord has: anything else on a record came from ``extra=``."""


@contextmanager
def job_context(media: str, gen: int) -> Iterator[None]:
    """Every log line inside carries this media id and generation (the runner's render)."""
    media_token = media_id.set(media)
    gen_token = generation.set(gen)
    try:
        yield
    finally:
        generation.reset(gen_token)
        media_id.reset(media_token)


class ContextFilter(logging.Filter):
    """Copies the context ids onto each record (as attributes, None when unset) unless the call
    gave its own (``extra={"media_id": ...}``); keeps every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in _VARS:
            if getattr(record, name, None) is None:
                setattr(record, name, var.get())
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines inside values are escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                out[name] = value
        for name, value in record.__dict__.items():
            if name not in _STANDARD and name not in CONTEXT_FIELDS and name not in out:
                out[name] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exception"] = record.exc_text
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return json.dumps(out, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The human format; the context ids that are set follow the message in brackets."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = [
            f"{name}={value}"
            for name in CONTEXT_FIELDS
            if (value := getattr(record, name, None)) is not None
        ]
        if not ids:
            return line
        head, sep, tail = line.partition("\n")  # after the message, before a traceback
        return f"{head} [{' '.join(ids)}]{sep}{tail}"


ACCESS_LOGGER = "kinora.access"
"""The API's own line per request (method, route, status, duration, request id): on in the
JSON format, where it replaces uvicorn's access line; off in the text format, where uvicorn's
access line is already there."""


def configure_logging(log_format: LogFormat = "text", *, level: int = logging.INFO) -> None:
    """The root handler of a ``kinora serve`` or ``kinora worker`` process (stderr)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger(ACCESS_LOGGER).setLevel(
        logging.INFO if log_format == "json" else logging.WARNING
    )
