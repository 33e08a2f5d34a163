"""The visual vocabulary: named vector icons and the words that call them.

The main set is Fluent Emoji Flat (MIT), from the npm package ``@iconify-json/fluent-emoji-flat``
(one ``icons.json`` with 3,000+ SVG bodies). What it lacks comes from extra Iconify sets
(``EXTRA_SETS``: Noto Emoji, Apache-2.0, for the newer emoji such as a ballet dancer, an elf
or a harp) and from shapes drawn for this engine (``scene/shapes.py``: a lighthouse, a
hot-air balloon). :func:`install_icons` copies the sets into the models dir at install time
(the extras only for the names Fluent lacks, so they cost little to load) and the engine reads
them from there, never from the network; without the extra file it runs on Fluent and the
shapes alone. Icons are rasterised with resvg (``resvg-py``) once per size and cached, so a
render pays for each sprite once.

The curated concepts below say how a thing behaves in a scene (a bird flies, a car drives, a
fish swims); any other icon name can still be matched as a plain "thing" that floats.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from kinora.engines.scene.shapes import SHAPE_SIZE, SHAPES

ICONS_FILENAME = "fluent-emoji-flat.json"
ICONS_PACKAGE = "@iconify-json/fluent-emoji-flat"
EXTRA_ICONS_FILENAME = "icons-extra.json"
EXTRA_SETS: dict[str, str] = {"noto": "Apache-2.0"}
"""Extra Iconify sets (npm ``@iconify-json/<name>``) and their licences. Chosen for licence
first: Noto is Apache-2.0, so renders carry no attribution or share-alike duty. OpenMoji has
the most extra subjects (a lighthouse among them) but is CC BY-SA 4.0, which would bind every
video drawn with it; Twemoji (CC BY 4.0) adds nothing Noto does not."""

RGBA = npt.NDArray[np.uint8]


class Kind(StrEnum):
    """How a subject lives in a scene: where it is placed and what it does with no verb."""

    ANIMAL = "animal"
    BIRD = "bird"
    FLYER = "flyer"
    AQUATIC = "aquatic"
    PERSON = "person"
    VEHICLE = "vehicle"
    AIRCRAFT = "aircraft"
    BOAT = "boat"
    PLANT = "plant"
    BUILDING = "building"
    THING = "thing"


DEFAULT_VERB: dict[Kind, str] = {
    Kind.ANIMAL: "walk",
    Kind.BIRD: "fly",
    Kind.FLYER: "fly",
    Kind.AQUATIC: "swim",
    Kind.PERSON: "walk",
    Kind.VEHICLE: "drive",
    Kind.AIRCRAFT: "fly",
    Kind.BOAT: "float",
    Kind.PLANT: "grow",
    Kind.BUILDING: "idle",
    Kind.THING: "float",
}


@dataclass(frozen=True)
class Concept:
    """A subject the composer knows: its icon, kind, spellings, and how the icon is drawn."""

    key: str
    icon: str
    kind: Kind
    words: tuple[str, ...]
    faces_right: bool = False
    """Fluent's animals and vehicles mostly face left; flipped when moving right."""
    tilt: float = 0.0
    """Degrees to turn the icon so it points along +x (diagonal rockets and planes)."""
    size: float = 1.0
    """Relative size (a whale is bigger than a bee)."""


# key | icon | kind | extra words | flags (r = faces right, t<deg> = tilt, s<scale> = size)
_SUBJECTS = """
rabbit|rabbit|animal|bunny,bunnies,hare
cat|cat|animal|kitty,kitten,kitties,feline
dog|dog|animal|puppy,pup,doggy,hound
fox|fox|animal|
horse|horse|animal|pony,stallion,mare|s1.2
unicorn|unicorn|animal||
deer|deer|animal|stag,reindeer,fawn|s1.1
bear|bear|animal||s1.2
polar bear|polar-bear|animal||s1.2
panda|panda|animal||
koala|koala|animal||
lion|lion|animal||s1.1
tiger|tiger|animal||s1.2
elephant|elephant|animal||s1.5
giraffe|giraffe|animal||s1.6
zebra|zebra|animal||s1.2
monkey|monkey|animal|ape,chimp
gorilla|gorilla|animal||s1.2
cow|cow|animal|cattle,calf|s1.2
pig|pig|animal|piglet
sheep|ewe|animal|lamb
goat|goat|animal|
chicken|chicken|animal|hen
rooster|rooster|animal|
chick|baby-chick|animal||s0.7
mouse|mouse|animal|mice|s0.7
hamster|hamster|animal||s0.7
squirrel|chipmunk|animal|chipmunk|s0.8
hedgehog|hedgehog|animal||s0.8
raccoon|raccoon|animal||
wolf|wolf|animal||
camel|camel|animal||s1.3
kangaroo|kangaroo|animal||s1.2
sloth|sloth|animal||
otter|otter|animal||
beaver|beaver|animal||
llama|llama|animal|alpaca|s1.2
dinosaur|t-rex|animal|t-rex,tyrannosaurus,dino|s1.6
sauropod|sauropod|animal|brontosaurus,diplodocus|s1.7
frog|frog|animal|toad|s0.8
turtle|turtle|animal|tortoise|s0.9
snail|snail|animal||s0.7
lizard|lizard|animal|gecko|s0.8
snake|snake|animal|serpent
crocodile|crocodile|animal|alligator|s1.3
dragon|dragon|flyer||s1.5
bird|bird|bird|birdie,songbird|s0.7
owl|owl|bird||s0.8
eagle|eagle|bird|hawk,falcon
parrot|parrot|bird||s0.8
penguin|penguin|animal||s0.9
duck|duck|bird||s0.8
swan|swan|bird||
flamingo|flamingo|animal||s1.1
peacock|peacock|animal||s1.1
dove|dove|bird|pigeon|s0.7
bat|bat|bird||s0.7
phoenix|phoenix-bird|bird|firebird|s1.2
butterfly|butterfly|flyer|butterflies,moth|s0.6
bee|honeybee|flyer|bumblebee,honeybee|s0.5
ladybug|lady-beetle|flyer|ladybird|s0.5
fish|tropical-fish|aquatic|goldfish|s0.7
dolphin|dolphin|aquatic||s1.1
whale|spouting-whale|aquatic||s1.8
orca|orca|aquatic|killer whale|s1.6
shark|shark|aquatic||s1.4
octopus|octopus|aquatic||
jellyfish|jellyfish|aquatic||s0.8
crab|crab|animal||s0.7
seal|seal|aquatic||
person|person-walking|person|someone,human|r
man|man-walking|person|boy,guy,gentleman|r
woman|woman-walking|person|lady,girl|r
child|child|person|kid,kids,children|s0.8,r
baby|baby|person|toddler|s0.7
runner|person-running|person|jogger,athlete|r
ballet dancer|ballet-dancer|person|ballerina,ballet|s1.1
dancer|woman-dancing|person|ballerina
elf|elf|person|elves
astronaut|astronaut|person|spaceman,cosmonaut
wizard|person-mage|person|witch,sorcerer,magician,mage
fairy|person-fairy|flyer|pixie,sprite
princess|princess|person||
prince|prince|person|king
superhero|person-superhero|flyer|hero
robot|robot|person|android,droid
ghost|ghost|flyer|spirit,phantom
alien|alien|flyer|extraterrestrial
mermaid|person-merpeople|aquatic|merman,mermaids
santa|santa-claus|person|santa claus,father christmas
snowman|snowman|thing||s1.2
zombie|person-zombie|person||
ninja|ninja|person||
car|automobile|vehicle|automobile,auto,sedan|s1.2
racing car|racing-car|vehicle|race car,racecar,formula one|s1.2
taxi|taxi|vehicle|cab|s1.2
police car|police-car|vehicle||s1.2
bus|bus|vehicle|coach|s1.5
truck|delivery-truck|vehicle|lorry,van|s1.4
fire truck|fire-engine|vehicle|fire engine,firetruck|s1.5
tractor|tractor|vehicle||s1.3
bicycle|bicycle|vehicle|bike,cycling,cyclist|s0.9
motorcycle|motorcycle|vehicle|motorbike|s1.1
scooter|motor-scooter|vehicle|vespa|s1.0
train|locomotive|vehicle|steam train,railway|s1.6
tram|tram|vehicle|streetcar,trolley|s1.5
skateboard|skateboard|vehicle|skateboarder|s0.7
airplane|airplane|aircraft|plane,aeroplane,jet,aircraft|t45,s1.2
helicopter|helicopter|aircraft|chopper|s1.2
rocket|rocket|aircraft|spaceship,spacecraft|t45,s1.2
ufo|flying-saucer|aircraft|flying saucer,saucer|s1.1
hot air balloon|shape:hot-air-balloon|aircraft|hot-air balloon,air balloon,montgolfier|s1.5
balloon|balloon|thing|balloons,party balloon|s0.6
kite|kite|aircraft||s0.8
boat|sailboat|boat|sailboat,yacht|s1.2
ship|passenger-ship|boat|liner,ferry,pirate ship|s1.8
canoe|canoe|boat|kayak|s1.1
speedboat|speedboat|boat|motorboat|s1.2
tree|deciduous-tree|plant|oak|s1.6
bare tree|leafless-tree|plant|dead tree,leafless tree,winter tree|s1.6
pine tree|evergreen-tree|plant|pine,fir,spruce,christmas tree|s1.6
palm tree|palm-tree|plant|palm,palms|s1.8
cactus|cactus|plant|cacti|s1.1
flower|blossom|plant|flowers,bloom,blossoms|s0.6
rose|rose|plant|roses|s0.6
tulip|tulip|plant|tulips|s0.6
sunflower|sunflower|plant|sunflowers|s0.8
mushroom|mushroom|plant|mushrooms,toadstool|s0.6
seedling|seedling|plant|sprout,seed,sapling|s0.6
cherry blossom|cherry-blossom|plant||s0.6
house|house|building|home,cottage,cabin|s1.8
castle|castle|building|palace,fortress|s2.2
tent|tent|building|camp,camping|s1.4
campfire|fire|building|bonfire,camp fire|s0.6
lighthouse|shape:lighthouse|building|beacon|s2.6
apple|red-apple|thing|apples|s0.5
cake|birthday-cake|thing|birthday|s0.7
pizza|pizza|thing||s0.6
ball|soccer-ball|thing|football|s0.5
gift|wrapped-gift|thing|present,presents|s0.6
treasure chest|treasure-chest|thing|treasure|s0.7
heart|red-heart|thing|love|s0.5
star|glowing-star|thing||s0.6
crystal ball|crystal-ball|thing|orb|s0.6
lantern|red-paper-lantern|thing|lanterns|s0.6
guitar|guitar|thing||s0.8
umbrella|umbrella|thing|parasol|s0.8
teddy bear|teddy-bear|thing|teddy|s0.8
"""


def _parse_subjects() -> tuple[Concept, ...]:
    out = []
    for line in _SUBJECTS.strip().splitlines():
        parts = [*line.split("|"), "", ""]
        key, icon, kind, extra, flags = parts[:5]
        words = (key, *(w.strip() for w in extra.split(",") if w.strip()))
        tilt, size, right = 0.0, 1.0, False
        for flag in (f.strip() for f in flags.split(",") if f.strip()):
            if flag == "r":
                right = True
            elif flag.startswith("t"):
                tilt = float(flag[1:])
            elif flag.startswith("s"):
                size = float(flag[1:])
        out.append(Concept(key, icon, Kind(kind), words, faces_right=right, tilt=tilt, size=size))
    return tuple(out)


SUBJECTS: tuple[Concept, ...] = _parse_subjects()

_SKIN = re.compile(r"-(dark|light|medium|medium-dark|medium-light)$")
_NOT_THINGS = re.compile(
    r"(button|oclock|thirty|sign|symbol|arrow|keycap|-face|face-|hand|finger|fist|-mark|"
    r"flag|square|circle|diamond|heart|^man-|^woman-|^person-|japanese-|input-|blood-type)"
)
_NOT_EXTRA = re.compile(r"(skin-tone|^flag-|-flag$|^family-|^couple-|^kiss-|^digit-|^letter-)")
"""Extra-set names not worth installing: variants and symbols a scene never draws."""
_THING_CATEGORIES = ("Animals & Nature", "Food & Drink", "Objects", "Travel & Places", "Activities")


@dataclass(frozen=True)
class IconSet:
    """The parsed icon files: SVG bodies by name (aliases resolved), the category index, and
    for names not from the main set their own grid size and the set they come from."""

    path: Path
    bodies: dict[str, str]
    flips: dict[str, bool]
    size: int
    categories: dict[str, str]
    sizes: dict[str, int] = field(default_factory=dict)
    """viewBox size of names drawn on another grid than the main set's ``size``."""
    sources: dict[str, str] = field(default_factory=dict)
    """Set of names not from the main set: "noto", "shape"."""
    key: str = ""
    """Which files (and versions) this set was read from: the rasteriser's cache key."""

    def source(self, name: str) -> str:
        """The icon set a name is drawn from (for the render's record and licences)."""
        return self.sources.get(name, "fluent-emoji-flat")

    def __contains__(self, name: object) -> bool:
        return name in self.bodies

    def names(self) -> Iterator[str]:
        return iter(self.bodies)

    def svg(self, name: str, px: int) -> str:
        body = self.bodies[name]
        s = self.sizes.get(name, self.size)
        if self.flips.get(name):
            body = f'<g transform="translate({s} 0) scale(-1 1)">{body}</g>'
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {s} {s}" '
            f'width="{px}" height="{px}">{body}</svg>'
        )

    def thing_names(self) -> list[str]:
        """Icons that can stand as a plain subject (not symbols, faces, skin-tone variants)."""
        return sorted(
            n
            for n, c in self.categories.items()
            if c in _THING_CATEGORIES and not _SKIN.search(n) and not _NOT_THINGS.search(n)
        )


def icons_path(models_dir: Path | None) -> Path | None:
    if models_dir is None:
        return None
    path = Path(models_dir) / ICONS_FILENAME
    return path if path.is_file() else None


def _write_if_changed(target: Path, text: str) -> Path:
    """Write atomically, and not at all when the file already holds ``text`` (idempotent)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_file() and target.read_text(encoding="utf-8") == text:
        return target
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)
    return target


def _read_set(package_dir: Path) -> dict[str, Any]:
    """An unpacked ``@iconify-json`` package's icons, with its categories merged in."""
    data: dict[str, Any] = json.loads((package_dir / "icons.json").read_text(encoding="utf-8"))
    meta_path = package_dir / "metadata.json"
    if meta_path.is_file():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        data["categories"] = meta.get("categories", {})
    return data


def extra_package_dirs(package_dir: Path) -> dict[str, Path]:
    """Where the Makefile unpacks the extra sets: ``<package_dir>/../extra/<name>/package``."""
    root = Path(package_dir).parent / "extra"
    return {
        name: root / name / "package"
        for name in EXTRA_SETS
        if (root / name / "package" / "icons.json").is_file()
    }


def install_icons(package_dir: Path, models_dir: Path) -> Path:
    """Copy the npm package's icons (with categories merged in) to the models dir, atomically,
    and the extra sets found beside it (``extra_package_dirs``) to ``EXTRA_ICONS_FILENAME``:
    only their names that the main set lacks, each set with its grid size and licence.

    ``package_dir`` is the unpacked npm tarball's ``package/`` folder. Idempotent.
    """
    data = _read_set(Path(package_dir))
    target = _write_if_changed(
        Path(models_dir) / ICONS_FILENAME, json.dumps(data, separators=(",", ":"))
    )
    have = set(data["icons"]) | set(data.get("aliases", {}))
    extras: dict[str, Any] = {}
    for name, folder in extra_package_dirs(Path(package_dir)).items():
        extra = _read_set(folder)
        icons = {
            k: v
            for k, v in extra["icons"].items()
            if k not in have and not v.get("hidden") and not _NOT_EXTRA.search(k)
        }
        categories = {
            c: [n for n in names if n in icons] for c, names in extra.get("categories", {}).items()
        }
        extras[name] = {
            "licence": EXTRA_SETS[name],
            "width": int(extra.get("width", 16)),
            "icons": icons,
            "categories": {c: n for c, n in categories.items() if n},
        }
        have |= set(icons)
    if extras:
        _write_if_changed(
            Path(models_dir) / EXTRA_ICONS_FILENAME, json.dumps(extras, separators=(",", ":"))
        )
    return target


def copy_icons_file(source: Path, models_dir: Path) -> Path:
    """Install an already merged icon file (for tests and offline copies)."""
    target = Path(models_dir) / ICONS_FILENAME
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


_SETS: dict[str, IconSet] = {}
"""Loaded sets by key, for the rasteriser (whose cache is keyed by strings)."""


@functools.lru_cache(maxsize=2)
def _load(path: str, mtime: float, extra: str, extra_mtime: float) -> IconSet:
    """The main set, then the extra sets' names it lacks, then the shapes."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    bodies: dict[str, str] = {k: v["body"] for k, v in data["icons"].items()}
    flips: dict[str, bool] = {}
    for name, alias in data.get("aliases", {}).items():
        parent = alias.get("parent")
        if parent in bodies and name not in bodies:
            bodies[name] = bodies[parent]
            flips[name] = bool(alias.get("hFlip"))
    categories: dict[str, str] = {}
    for cat, names in data.get("categories", {}).items():
        for n in names:
            categories[n] = cat
    sizes: dict[str, int] = {}
    sources: dict[str, str] = {}
    if extra:
        for set_name, part in json.loads(Path(extra).read_text(encoding="utf-8")).items():
            for n, icon in part["icons"].items():
                if n not in bodies:
                    bodies[n], sizes[n], sources[n] = icon["body"], int(part["width"]), set_name
            for cat, names in part.get("categories", {}).items():
                for n in names:
                    categories.setdefault(n, cat)
    for n, body in SHAPES.items():
        bodies[n], sizes[n], sources[n] = body, SHAPE_SIZE, "shape"
    key = f"{path}:{mtime}:{extra}:{extra_mtime}"
    icons = IconSet(
        path=Path(path),
        bodies=bodies,
        flips=flips,
        size=int(data.get("width", 32)),
        categories=categories,
        sizes=sizes,
        sources=sources,
        key=key,
    )
    _SETS[key] = icons
    return icons


def load_icons(models_dir: Path | None) -> IconSet | None:
    """The installed icons (main set, extras when installed, shapes), or None without the
    main set."""
    path = icons_path(models_dir)
    if path is None:
        return None
    extra = Path(models_dir or ".") / EXTRA_ICONS_FILENAME
    extra_mtime = extra.stat().st_mtime if extra.is_file() else 0.0
    return _load(str(path), path.stat().st_mtime, str(extra) if extra_mtime else "", extra_mtime)


@functools.lru_cache(maxsize=512)
def _raster(key: str, name: str, px: int) -> RGBA:
    import resvg_py

    icons = _SETS[key]
    png = bytes(resvg_py.svg_to_bytes(svg_string=icons.svg(name, px)))
    img = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None or img.ndim != 3 or img.shape[2] != 4:
        raise ValueError(f"icon {name!r} did not rasterise")
    rgba = cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)
    rgba.setflags(write=False)
    return np.asarray(rgba, dtype=np.uint8)


def _bucket(px: int) -> int:
    """The smallest size on a ladder of quarter octaves that is at least ``px``."""
    if px <= 16:
        return px
    k = math.ceil(4 * math.log2(px / 16) - 1e-9)
    size = round(16 * 2 ** (k / 4))
    return size if size >= px else round(16 * 2 ** ((k + 1) / 4))


@functools.lru_cache(maxsize=1024)
def _sized(key: str, name: str, px: int) -> RGBA:
    """An icon at any size from a few SVG rasterisations per icon: scenes stamp the same tree at
    dozens of sizes, and an area-filtered shrink by at most 19 % looks the same as a fresh
    rasterisation (it is supersampled) at a fraction of the cost."""
    base = _bucket(px)
    img = _raster(key, name, base)
    if base == px:
        return img
    # Shrink premultiplied, so clear pixels' colour never bleeds into the edges.
    alpha = img[..., 3:4].astype(np.float32) / 255.0
    pre = np.concatenate([img[..., :3].astype(np.float32) * alpha, alpha * 255.0], axis=2)
    small = cv2.resize(pre, (px, px), interpolation=cv2.INTER_AREA)
    a = small[..., 3:4] / 255.0
    rgb = np.where(a > 1e-6, small[..., :3] / np.maximum(a, 1e-6), 0.0)
    out = np.concatenate([rgb, small[..., 3:4]], axis=2)
    rgba = np.ascontiguousarray(np.clip(out + 0.5, 0, 255).astype(np.uint8))
    rgba.setflags(write=False)
    return rgba


def rasterise(icons: IconSet, name: str, px: int) -> RGBA:
    """RGBA uint8 (px, px, 4) of an icon (read-only, cached per name and size)."""
    return _sized(icons.key, name, max(4, int(px)))
