"""The routing table's grammar (``KINORA_ENGINE_ROUTES``): pure parsing, no engines.

Settings validate the table when they load (a typo stops ``kinora serve`` at once instead of
failing every render later) and :mod:`kinora.engines.registry` routes with it. This module
knows only the motion type names (:class:`kinora.vocab.MotionType`): whether an engine of a
target's name is installed is checked where the entry points are loaded
(:mod:`kinora.engines.preflight`, at start).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from kinora.vocab import MotionType

MOTION_TYPES: tuple[str, ...] = tuple(m.value for m in MotionType)
"""The spec's motion_type values, in the order of :class:`kinora.vocab.MotionType`."""

AUTO_TYPES = frozenset({MotionType.AUTO.value, MotionType.AUTO_T3.value})


@dataclass(frozen=True)
class Target:
    """One configured place a motion type can run: ``engine[:argument][?key=value&...]``."""

    engine: str
    argument: str = ""
    options: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Target:
        text = text.strip()
        if not text:
            raise ValueError("empty engine target")
        spec, _, query = text.partition("?")
        engine, _, argument = spec.partition(":")
        if not engine.strip():
            raise ValueError(f"engine target {text!r} names no engine")
        options = dict(parse_qsl(query, keep_blank_values=True)) if query else {}
        return cls(engine=engine.strip(), argument=argument.strip(), options=options)

    def __str__(self) -> str:
        text = f"{self.engine}:{self.argument}" if self.argument else self.engine
        if self.options:
            text += "?" + "&".join(f"{k}={v}" for k, v in self.options.items())
        return text


def parse_routes(text: str) -> dict[str, list[Target]]:
    """The routing table of ``KINORA_ENGINE_ROUTES``.

    Two spellings: a JSON object (``{"Wan": "diffusers:/models/wan", "KlingAI":
    ["replicate:kwaivgi/kling-v2.1", "fal:fal-ai/kling-video/v2.1/standard/image-to-video"]}``)
    or ``MotionType=target|target`` entries separated by commas, semicolons or newlines.
    Unknown motion types are an error: a typo must not silently route to the built-in.
    """
    text = text.strip()
    if not text:
        return {}
    raw: dict[str, list[str]] = {}
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"engine routes: not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise ValueError("engine routes: expected a JSON object")
        for key, value in data.items():
            items = value if isinstance(value, list) else [value]
            raw[str(key)] = [str(v) for v in items]
    else:
        for entry in text.replace(";", "\n").replace(",", "\n").splitlines():
            if not entry.strip():
                continue
            key, sep, value = entry.partition("=")
            if not sep:
                raise ValueError(f"engine routes: {entry.strip()!r} is not MotionType=target")
            raw.setdefault(key.strip(), []).extend(v for v in value.split("|") if v.strip())
    table: dict[str, list[Target]] = {}
    for key, values in raw.items():
        if key not in MOTION_TYPES:
            raise ValueError(
                f"engine routes: unknown motion_type {key!r} (known: {', '.join(MOTION_TYPES)})"
            )
        table[key] = [Target.parse(v) for v in values]
    return table
