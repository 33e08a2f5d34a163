"""Shipped routes for operators who set a provider's key and no routing table.

With only ``KINORA_FAL_API_KEY`` set (or Replicate's, or a direct provider's keys), every
motion type that provider can serve runs on the model it names there, by this table: one row
per motion type, provider and input kind, each naming the target (``engine:model``) that runs.
``KINORA_ENGINE_ROUTES`` overrides it motion type by motion type (a routed motion type uses
only its own targets); ``KINORA_PRESETS=off`` turns it off. With several keys set, a motion
type's own maker comes first (Kling's API for KlingAI, Google's for Veo, ...), then fal, then
Replicate. ``GET /models`` shows each motion type's effective route and where it came from.

Why a table and not a guess from the motion type's name: the model ids are the providers' own
and change with their catalogues; a shipped, versioned table is what an operator can read,
check against the provider's page and override. Each row's model id was checked against the
provider's model page or its API reference on :data:`PRESETS_VERSION`; the input names each
adapter sends for it are its family's (see each adapter's module).

Not in the table: Auto and AutoT3 (they try every *configured* target; an operator's key is not
a request to spend on Auto renders), PicoMotion and StaticMotion (the built-in camera motions),
TryOnVideo (its ``model`` picks providers, :data:`kinora.engines.registry.TRY_ON_TARGETS`), and
Sora/SoraPro (see :data:`NOTICES`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kinora.config import Settings
from kinora.engines.base import InputKind
from kinora.routing import Target

__all__ = [
    "NOTICES",
    "PRESETS",
    "PRESETS_VERSION",
    "PROVIDERS",
    "Preset",
    "configured_providers",
    "preset_rows",
    "preset_targets",
]

PRESETS_VERSION = "2026-12-04"
"""When the table's model ids were last checked against the providers' catalogues."""

ONE, TWO, TEXT = InputKind.ONE_IMAGE, InputKind.TWO_IMAGES, InputKind.TEXT
IMAGES = frozenset({ONE, TWO})
ALL = frozenset({ONE, TWO, TEXT})


@dataclass(frozen=True)
class Provider:
    """A provider whose key turns its rows on: the settings that must all be set."""

    name: str
    settings: tuple[str, ...]
    direct: bool
    """The maker's own API (first for its own motion types) or an aggregator (fal, Replicate)."""


PROVIDERS: dict[str, Provider] = {
    p.name: p
    for p in (
        Provider("kling", ("kling_access_key", "kling_secret_key"), direct=True),
        Provider("gemini", ("gemini_api_key",), direct=True),
        Provider("minimax", ("minimax_api_key",), direct=True),
        Provider("pixverse", ("pixverse_api_key",), direct=True),
        Provider("runway", ("runway_api_key",), direct=True),
        Provider("luma", ("luma_api_key",), direct=True),
        Provider("byteplus", ("byteplus_api_key",), direct=True),
        Provider("dashscope", ("dashscope_api_key",), direct=True),
        Provider("fal", ("fal_api_key",), direct=False),
        Provider("replicate", ("replicate_api_key",), direct=False),
    )
}
"""Providers in the order tried: the direct ones, then fal, then Replicate."""


@dataclass(frozen=True)
class Preset:
    """One row: ``motion_type`` with these input ``kinds`` runs ``target`` when the
    ``provider``'s key is set."""

    motion_type: str
    provider: str
    target: str
    kinds: frozenset[InputKind]


def _rows(
    provider: str, motion_type: str, *pairs: tuple[frozenset[InputKind], str]
) -> list[Preset]:
    return [Preset(motion_type, provider, target, kinds) for kinds, target in pairs]


def _one(kind: InputKind) -> frozenset[InputKind]:
    return frozenset({kind})


PRESETS: tuple[Preset, ...] = (
    # --- the makers' own APIs ---------------------------------------------------------------
    # Kling takes a last frame (image_tail) in its pro mode only.
    *_rows(
        "kling",
        "KlingAI",
        (_one(ONE), "kling:kling-v2-1"),
        (_one(TWO), "kling:kling-v2-1?mode=pro"),
        (_one(TEXT), "kling:kling-v2-1-master"),
    ),
    *_rows(
        "kling",
        "KlingT4",
        (frozenset({ONE, TEXT}), "kling:kling-v2-1-master"),
        (_one(TWO), "kling:kling-v2-1?mode=pro"),
    ),
    *_rows("gemini", "Veo", (ALL, "gemini:veo-3.1-generate-preview")),
    *_rows("gemini", "VeoFast", (ALL, "gemini:veo-3.1-fast-generate-preview")),
    *_rows(
        "minimax",
        "MinimaxHailuo",
        (frozenset({ONE, TEXT}), "minimax:MiniMax-Hailuo-2.3"),
        (_one(TWO), "minimax:MiniMax-Hailuo-02"),
    ),
    *_rows("pixverse", "Pixverse", (ALL, "pixverse:v5")),
    *_rows("pixverse", "PixverseT3", (ALL, "pixverse:v4.5")),
    *_rows("runway", "RunwayML", (IMAGES, "runway:gen4_turbo")),
    *_rows("luma", "LumaAI", (ALL, "luma:ray-2")),
    *_rows("luma", "LumaRay2", (ALL, "luma:ray-2")),
    *_rows("byteplus", "Seedance", (ALL, "byteplus:seedance-1-0-pro-250528")),
    *_rows(
        "byteplus",
        "SeedanceFast",
        (frozenset({ONE, TEXT}), "byteplus:seedance-1-0-pro-fast-251015"),
        (_one(TWO), "byteplus:seedance-1-0-pro-250528"),  # the fast model takes no last frame
    ),
    *_rows(
        "dashscope",
        "Wan",
        (_one(ONE), "dashscope:wan2.2-i2v-plus"),
        (_one(TWO), "dashscope:wan2.2-kf2v-flash"),
        (_one(TEXT), "dashscope:wan2.2-t2v-plus"),
    ),
    # --- fal (one endpoint per input kind) --------------------------------------------------
    *_rows(
        "fal",
        "KlingAI",
        (_one(ONE), "fal:fal-ai/kling-video/v2.1/standard/image-to-video"),
        (_one(TWO), "fal:fal-ai/kling-video/v2.1/pro/image-to-video"),
        (_one(TEXT), "fal:fal-ai/kling-video/v2.1/master/text-to-video"),
    ),
    *_rows(
        "fal",
        "KlingT4",
        (IMAGES, "fal:fal-ai/kling-video/v2.1/pro/image-to-video"),
        (_one(TEXT), "fal:fal-ai/kling-video/v2.1/master/text-to-video"),
    ),
    *_rows(
        "fal",
        "Veo",
        (_one(ONE), "fal:fal-ai/veo3.1/image-to-video"),
        (_one(TEXT), "fal:fal-ai/veo3.1"),
    ),
    *_rows(
        "fal",
        "VeoFast",
        (_one(ONE), "fal:fal-ai/veo3.1/fast/image-to-video"),
        (_one(TEXT), "fal:fal-ai/veo3.1/fast"),
    ),
    *_rows(
        "fal",
        "MinimaxHailuo",
        (IMAGES, "fal:fal-ai/minimax/hailuo-02/standard/image-to-video"),
        (_one(TEXT), "fal:fal-ai/minimax/hailuo-02/standard/text-to-video"),
    ),
    *_rows("fal", "Seedance", (IMAGES, "fal:fal-ai/bytedance/seedance/v1/pro/image-to-video")),
    *_rows(
        "fal", "SeedanceFast", (IMAGES, "fal:fal-ai/bytedance/seedance/v1/pro/fast/image-to-video")
    ),
    *_rows(
        "fal",
        "Pixverse",
        (_one(ONE), "fal:fal-ai/pixverse/v4.5/image-to-video"),
        (_one(TEXT), "fal:fal-ai/pixverse/v4.5/text-to-video"),
    ),
    *_rows(
        "fal",
        "PixverseT3",
        (_one(ONE), "fal:fal-ai/pixverse/v4.5/image-to-video"),
        (_one(TEXT), "fal:fal-ai/pixverse/v4.5/text-to-video"),
    ),
    *_rows(
        "fal",
        "Wan",
        (IMAGES, "fal:fal-ai/wan/v2.2-a14b/image-to-video"),
        (_one(TEXT), "fal:fal-ai/wan/v2.2-a14b/text-to-video"),
    ),
    *_rows("fal", "Hunyuan", (_one(TEXT), "fal:fal-ai/hunyuan-video")),
    *_rows(
        "fal",
        "LumaAI",
        (IMAGES, "fal:fal-ai/luma-dream-machine/ray-2/image-to-video"),
        (_one(TEXT), "fal:fal-ai/luma-dream-machine/ray-2"),
    ),
    *_rows(
        "fal",
        "LumaRay2",
        (IMAGES, "fal:fal-ai/luma-dream-machine/ray-2/image-to-video"),
        (_one(TEXT), "fal:fal-ai/luma-dream-machine/ray-2"),
    ),
    # --- Replicate (one model takes a prompt alone or with frames, where it does) -----------
    *_rows("replicate", "KlingAI", (IMAGES, "replicate:kwaivgi/kling-v2.1")),
    *_rows("replicate", "KlingT4", (ALL, "replicate:kwaivgi/kling-v2.1-master")),
    *_rows("replicate", "Veo", (frozenset({ONE, TEXT}), "replicate:google/veo-3")),
    *_rows("replicate", "VeoFast", (frozenset({ONE, TEXT}), "replicate:google/veo-3-fast")),
    *_rows("replicate", "MinimaxHailuo", (ALL, "replicate:minimax/hailuo-02")),
    *_rows("replicate", "Seedance", (ALL, "replicate:bytedance/seedance-1-pro")),
    *_rows("replicate", "SeedanceFast", (ALL, "replicate:bytedance/seedance-1-lite")),
    *_rows("replicate", "Pixverse", (ALL, "replicate:pixverse/pixverse-v4.5")),
    *_rows("replicate", "PixverseT3", (ALL, "replicate:pixverse/pixverse-v4.5")),
    *_rows("replicate", "Hunyuan", (_one(TEXT), "replicate:tencent/hunyuan-video")),
    *_rows("replicate", "LumaAI", (ALL, "replicate:luma/ray")),
    *_rows("replicate", "LumaRay2", (ALL, "replicate:luma/ray")),
)
"""The table (docs/engines-plugins.md, "Presets", shows it; a test keeps the two equal)."""

NOTICES: dict[str, str] = {
    "Sora": "OpenAI shut its Videos API (sora-2, sora-2-pro) down on 2026-09-24 with no "
    "replacement: Sora runs where KINORA_ENGINE_ROUTES sends it, else on the built-in engine",
    "SoraPro": "OpenAI shut its Videos API (sora-2, sora-2-pro) down on 2026-09-24 with no "
    "replacement: SoraPro runs where KINORA_ENGINE_ROUTES sends it, else on the built-in engine",
}
"""Motion types whose named model can no longer be reached, and what runs them instead."""


def _has(settings: Settings, names: Iterable[str]) -> bool:
    return all(str(getattr(settings, name, "") or "").strip() for name in names)


def configured_providers(settings: Settings) -> list[str]:
    """The providers whose keys are all set, in the order their rows are tried."""
    if str(getattr(settings, "presets", "on")) == "off":
        return []
    return [name for name, p in PROVIDERS.items() if _has(settings, p.settings)]


def preset_rows(motion_type: str, kind: InputKind, settings: Settings) -> list[Preset]:
    """The rows that apply here: this motion type and input kind, keys set, in order."""
    order = configured_providers(settings)
    rows = [
        p
        for p in PRESETS
        if p.motion_type == motion_type and kind in p.kinds and p.provider in order
    ]
    return sorted(rows, key=lambda p: order.index(p.provider))


def preset_targets(motion_type: str, kind: InputKind, settings: Settings) -> list[Target]:
    """:func:`preset_rows` as routing targets."""
    return [Target.parse(p.target) for p in preset_rows(motion_type, kind, settings)]
