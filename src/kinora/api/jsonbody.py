"""JSON request bodies decoded with budgets: few values, shallow nesting, refused early.

``json.loads`` builds the whole document in C while holding the GIL: a body of 200,000 field
names holds it (and so the event loop, even from a worker thread) for a few hundred ms, and
deep nesting ends in RecursionError. No request needs more than a few hundred values or a few
levels (media_items, audio_option, metadata of at most 2 KB), so this decoder runs the standard
library's own pure-Python scanner (same grammar, same results; strings are still scanned in C)
with counters hooked into its object and array parsing: past :data:`MAX_VALUES` values, more
than ``fields`` top-level names or ``depth`` levels it stops at once, having read only a
bounded prefix of the body. Python code lets other threads (the event loop) run between
bytecodes, and the work done before refusing is small whatever the body's size.
"""

from __future__ import annotations

import json
import json.decoder
import json.scanner
from typing import Any

# The standard library's pure-Python parts (present in every CPython, absent from typeshed).
JSONObject: Any = getattr(json.decoder, "JSONObject")  # noqa: B009
JSONArray: Any = getattr(json.decoder, "JSONArray")  # noqa: B009
py_make_scanner: Any = getattr(json.scanner, "py_make_scanner")  # noqa: B009

MAX_VALUES = 10_000
"""Values (of any kind, at any depth) a request body may hold; far more than any needs."""


class JsonBudgetError(ValueError):
    """The document has more values, names or levels than allowed (``kind`` says which)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class _BudgetDecoder(json.JSONDecoder):
    def __init__(self, *, fields: int | None, depth: int, values: int) -> None:
        super().__init__()
        self._fields = fields
        self._depth_limit = depth
        self._values_limit = values
        self._depth = 0
        self._values = 0
        self.parse_object = self._object
        self.parse_array = self._array
        self.scan_once = py_make_scanner(self)

    def _counted(self, scan_once: Any, *, top: bool) -> Any:
        """``scan_once`` (one value), refusing past the value budget, or past the top-level
        field budget when ``top``."""
        top_count = 0

        def scan(string: str, idx: int) -> Any:
            nonlocal top_count
            self._values += 1
            if self._values > self._values_limit:
                raise JsonBudgetError(
                    "too_many_values", f"the JSON body holds more than {self._values_limit} values"
                )
            if top and self._fields is not None:
                top_count += 1
                if top_count > self._fields:
                    raise JsonBudgetError(
                        "too_many_fields", f"too many fields (at most {self._fields})"
                    )
            return scan_once(string, idx)

        return scan

    def _enter(self) -> bool:
        self._depth += 1
        if self._depth > self._depth_limit:
            raise JsonBudgetError(
                "json_invalid", f"the JSON body nests deeper than {self._depth_limit} levels"
            )
        return self._depth == 1

    def _object(self, s_and_end: Any, strict: bool, scan_once: Any, *args: Any) -> Any:
        top = self._enter()
        try:
            return JSONObject(s_and_end, strict, self._counted(scan_once, top=top), *args)
        finally:
            self._depth -= 1

    def _array(self, s_and_end: Any, scan_once: Any) -> Any:
        self._enter()
        try:
            return JSONArray(s_and_end, self._counted(scan_once, top=False))
        finally:
            self._depth -= 1


def loads_bounded(
    data: str | bytes, *, depth: int, fields: int | None = None, values: int = MAX_VALUES
) -> Any:
    """``json.loads(data)`` within budgets: :class:`JsonBudgetError` past ``values`` values,
    ``fields`` names in the top-level object, or ``depth`` nested levels; ``ValueError`` for
    what is not JSON (as ``json.loads``)."""
    if isinstance(data, bytes | bytearray):
        data = data.decode(json.detect_encoding(data), "surrogatepass")
    return _BudgetDecoder(fields=fields, depth=depth, values=values).decode(data)
