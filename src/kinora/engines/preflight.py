"""What the engines of this server need, checked when ``kinora serve`` or ``kinora worker`` starts.

The enabled engines are the built-ins plus every engine the routing table
(``KINORA_ENGINE_ROUTES``) names. For each, :meth:`MotionEngine.model_files` says which files
it needs under the models dir; :func:`preflight` returns what is wrong:

- an engine name no installed engine has (a typo in the routes): always fatal;
- a missing or invalid model file: fatal unless ``KINORA_ALLOW_DEGRADED`` (then the engine
  runs degraded: GrabCut instead of ISNet; text renders fail without the icons);
- a routed target that cannot run here (no API key, no model directory): a warning, since
  routing falls back to the built-in by design.

A file is valid when it exists and is not empty, has the shape of its type (an ONNX protobuf,
a JSON document), and matches the record ``kinora models install`` writes beside it
(``<file>.record.json``: SHA-256, size and modification time; the checksum is computed again
only when the size or time differ). :func:`engine_report` is the same view for ``/health``.
Nothing here loads a model or calls out.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from kinora.config import Settings
from kinora.engines.base import ModelFile
from kinora.engines.parallax.segment import isnet_path
from kinora.engines.registry import builtin_names, check, engine_classes, make_engine
from kinora.routing import Target, parse_routes

RECORD_SUFFIX = ".record.json"

DEGRADED_HINT = "set KINORA_ALLOW_DEGRADED=true to start without it"


class Severity(StrEnum):
    FATAL = "fatal"
    """Never started: a typo in the configuration."""
    MODEL = "model"
    """Fatal unless degraded operation is allowed."""
    WARNING = "warning"
    """Reported; the engine router falls back by design."""


@dataclass(frozen=True)
class Problem:
    engine: str
    message: str
    severity: Severity
    path: Path | None = None
    fix: str = ""

    def __str__(self) -> str:
        text = f"{self.engine}: {self.message}"
        return f"{text}; fix: {self.fix}" if self.fix else text


# --- model files ---------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def record_path(path: Path) -> Path:
    return path.with_name(path.name + RECORD_SUFFIX)


def write_record(path: Path) -> Path:
    """Record a model file's checksum, size and time beside it (``kinora models install``)."""
    path = Path(path)
    st = path.stat()
    record = {"sha256": _sha256(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    target = record_path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record) + "\n", encoding="utf-8")
    os.replace(tmp, target)
    return target


@functools.lru_cache(maxsize=32)
def _shape_problem(path: str, size: int, mtime_ns: int) -> str:
    """Whether the file looks like its type (cached per version of the file)."""
    if path.endswith(".json"):
        try:
            json.loads(Path(path).read_text(encoding="utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            return f"not valid JSON ({exc})"
    elif path.endswith(".onnx"):
        with open(path, "rb") as f:
            head = f.read(1)
        if head != b"\x08":  # ModelProto starts with its ir_version field
            return "not an ONNX model"
    return ""


@functools.lru_cache(maxsize=32)
def _checksum_problem(path: str, size: int, mtime_ns: int, expected: str) -> str:
    got = _sha256(Path(path))
    return "" if got == expected else f"SHA-256 {got[:12]}... differs from the installed one"


def file_problem(path: Path, *, thorough: bool = True) -> str:
    """Why a model file cannot be used ("" when it can). ``thorough`` recomputes the checksum
    when the file's size or time differ from its record; otherwise the size must match."""
    path = Path(path)
    if not path.is_file():
        return "missing"
    st = path.stat()
    if st.st_size == 0:
        return "empty"
    shape = _shape_problem(str(path), st.st_size, st.st_mtime_ns)
    if shape:
        return shape
    rec = record_path(path)
    if rec.is_file():
        try:
            record: dict[str, Any] = json.loads(rec.read_text(encoding="utf-8"))
            size, mtime_ns, digest = (
                int(record["size"]),
                int(record["mtime_ns"]),
                str(record["sha256"]),
            )
        except (ValueError, KeyError, TypeError):
            return f"its record {rec.name} is unreadable"
        if st.st_size != size:
            return f"{st.st_size} bytes, but {size} were installed"
        if thorough and st.st_mtime_ns != mtime_ns:
            return _checksum_problem(str(path), st.st_size, st.st_mtime_ns, digest)
    return ""


def _describe(model: ModelFile, problem: str) -> str:
    state = "missing" if problem == "missing" else f"invalid ({problem})"
    return f"{model.name} {state}: {model.path}"


# --- enabled engines -----------------------------------------------------------------------


def routed_targets(settings: Settings) -> list[tuple[str, Target]]:
    """(motion_type, target) of every configured route, in configuration order."""
    table = parse_routes(str(getattr(settings, "engine_routes", "") or ""))
    return [(motion_type, t) for motion_type, targets in table.items() for t in targets]


def enabled_engines(settings: Settings) -> list[str]:
    """The built-ins, then every installed engine the routing table names."""
    names = builtin_names()
    classes = engine_classes()
    try:
        routed = routed_targets(settings)
    except ValueError:
        routed = []
    for _, target in routed:
        if target.engine in classes and target.engine not in names:
            names.append(target.engine)
    return names


def _route_problems(settings: Settings) -> list[Problem]:
    try:
        routed = routed_targets(settings)
    except ValueError as exc:
        return [Problem("KINORA_ENGINE_ROUTES", str(exc), Severity.FATAL)]
    classes = engine_classes()
    problems: list[Problem] = []
    for motion_type, target in routed:
        if target.engine not in classes:
            known = ", ".join(sorted(classes))
            problems.append(
                Problem(
                    "KINORA_ENGINE_ROUTES",
                    f"{motion_type}={target}: no engine named {target.engine!r} is installed "
                    f"(installed: {known})",
                    Severity.FATAL,
                )
            )
            continue
        verdict = check(target, settings)
        if verdict.problem:
            problems.append(
                Problem(
                    target.engine,
                    f"{motion_type}={target} cannot run here ({verdict.problem}); "
                    "it falls back to the built-in engine",
                    Severity.WARNING,
                )
            )
    return problems


def model_problems(settings: Settings, *, thorough: bool = True) -> list[Problem]:
    """Missing or invalid model files of every enabled engine: one problem per file, naming
    every engine that needs it (ISNet serves three)."""
    models_dir = settings.resolved_models_dir
    classes = engine_classes()
    by_path: dict[Path, Problem] = {}
    for name in enabled_engines(settings):
        cls = classes.get(name)
        if cls is None:
            continue
        for model in cls.model_files(models_dir):
            seen = by_path.get(model.path)
            if seen is not None:
                by_path[model.path] = dataclasses.replace(seen, engine=f"{seen.engine}, {name}")
                continue
            problem = file_problem(model.path, thorough=thorough)
            if problem:
                by_path[model.path] = Problem(
                    name, _describe(model, problem), Severity.MODEL, model.path, model.fix
                )
    return list(by_path.values())


def preflight(settings: Settings, *, models: bool = True) -> list[Problem]:
    """Everything wrong with this configuration for a process that renders (``models``) or
    only serves the API (routes only): fatal problems first, then model files, then warnings."""
    problems = _route_problems(settings)
    if models:
        problems += model_problems(settings)
    order = {Severity.FATAL: 0, Severity.MODEL: 1, Severity.WARNING: 2}
    return sorted(problems, key=lambda p: order[p.severity])


def refuses_start(problems: list[Problem], settings: Settings) -> bool:
    """Whether a process must not start with these problems."""
    allowed = bool(getattr(settings, "allow_degraded", False))
    return any(
        p.severity is Severity.FATAL or (p.severity is Severity.MODEL and not allowed)
        for p in problems
    )


# --- /health ---------------------------------------------------------------------------------


def engine_report(settings: Settings) -> dict[str, dict[str, str]]:
    """What each enabled engine runs on, as this process sees it (cheap: no checksums)."""
    models_dir = settings.resolved_models_dir
    classes = engine_classes()
    builtins = set(builtin_names())
    report: dict[str, dict[str, str]] = {}
    for name in enabled_engines(settings):
        cls = classes.get(name)
        if cls is None:
            report[name] = {"models": "missing: the engine is not installed"}
            continue
        missing = [
            _describe(m, problem)
            for m in cls.model_files(models_dir)
            if (problem := file_problem(m.path, thorough=False))
        ]
        entry = {"models": "missing: " + "; ".join(missing) if missing else "ok"}
        version = cls.info.version
        if name in builtins:
            with contextlib.suppress(Exception):  # the report stays up whatever an engine does
                version = make_engine(name, models_dir=models_dir).service_version()
        entry["version"] = version
        if name == "kinora-parallax":
            entry["segmentation"] = "isnet" if isnet_path(models_dir) else "grabcut"
        report[name] = entry
    return report
