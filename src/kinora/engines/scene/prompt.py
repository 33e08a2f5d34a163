"""Prompt parsing: which things, where, when, in what weather, mood, style and colours, doing what.

Words are matched to the vocabulary first by spelling (with crude stemming: "bunnies",
"jumping"), then by meaning with MiniLM sentence embeddings ("kitty" -> cat, "soaring" -> fly),
and only then, with a stricter bar, to any icon name of the set ("pineapple"). Without the
embedding model the same parser runs on spelling alone and says so (``matcher == "lexical"``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import numpy as np
import numpy.typing as npt

from kinora.engines.scene.embed import MiniLM
from kinora.engines.scene.vocabulary import DEFAULT_VERB, SUBJECTS, Concept, IconSet, Kind


class Category(StrEnum):
    SUBJECT = "subject"
    THING = "thing"
    SETTING = "setting"
    TIME = "time"
    WEATHER = "weather"
    MOOD = "mood"
    STYLE = "style"
    COLOUR = "colour"
    VERB = "verb"
    EFFECT = "effect"
    SIZE = "size"


_TERMS: dict[Category, dict[str, str]] = {
    Category.SETTING: {
        "forest": "forest,woods,woodland,trees,grove,enchanted forest",
        "jungle": "jungle,rainforest,tropical forest",
        "city": "city,town,street,streets,downtown,urban,skyline,metropolis,skyscrapers,"
        "city street",
        "village": "village,countryside,farm,barn,ranch,rural,farmland,cottage garden",
        "beach": "beach,shore,seaside,coast,sand,island,tropical island",
        "ocean": "ocean,sea,waves,open sea",
        "underwater": "underwater,reef,coral reef,deep sea,seabed,under the sea,aquarium",
        "lake": "lake,river,pond,stream,lagoon",
        "desert": "desert,dunes,sand dunes,sahara,canyon,savanna,savannah",
        "mountains": "mountains,mountain,peaks,alps,valley,highlands",
        "cliff": "cliff,cliffs,clifftop,cliff top,headland,bluff,rocky coast,sea cliff,promontory",
        "windowsill": "windowsill,window sill,window ledge,sill,window seat,by the window",
        "room": "room,bedroom,living room,kitchen,indoors,indoor,inside,interior,sofa,couch,"
        "fireplace,library,nursery,attic,house interior,window",
        "snowfield": "arctic,tundra,glacier,north pole,snowy field,antarctica,ice",
        "meadow": "meadow,field,fields,grassland,prairie,garden,park,lawn",
        "hills": "hills,hillside,green hills,rolling hills,downs,hilltop",
        "space": "space,outer space,galaxy,cosmos,universe,planets,nebula,orbit",
        "sky": "sky,clouds,above the clouds,heavens,air",
        "kingdom": "kingdom,fairytale kingdom,fairy tale,realm",
    },
    Category.TIME: {
        "dawn": "dawn,sunrise,morning,daybreak,early morning",
        "day": "day,daytime,noon,afternoon,midday,sunny day,sunshine",
        "sunset": "sunset,golden hour,evening,sundown",
        "dusk": "dusk,twilight,blue hour",
        "night": "night,midnight,moonlight,moonlit,starry,nighttime,starlight,moon,stars",
    },
    Category.WEATHER: {
        "clear": "clear,sunny,cloudless",
        "cloudy": "cloudy,overcast,clouds",
        "rain": "rain,rainy,raining,drizzle,downpour,showers,raindrops",
        "snow": "snow,snowy,snowing,winter,blizzard,snowflakes,snowfall",
        "storm": "storm,stormy,thunder,lightning,thunderstorm,tempest",
        "fog": "fog,foggy,mist,misty,haze,hazy",
        "wind": "windy,wind,breeze,breezy,gust",
        "rainbow": "rainbow,rainbows",
        "aurora": "aurora,auroras,northern lights,southern lights,aurora borealis,polar lights",
    },
    Category.MOOD: {
        "magical": "magical,magic,enchanted,fantasy,dreamy,whimsical,mystical,fairytale",
        "cheerful": "happy,cheerful,joyful,playful,cute,fun,adorable,sweet,lively",
        "calm": "calm,peaceful,serene,tranquil,quiet,relaxing,gentle,soothing",
        "spooky": "spooky,creepy,haunted,scary,eerie,halloween,sinister",
        "romantic": "romantic,lovely,valentine,tender",
        "mysterious": "mysterious,moody,secret,enigmatic,dark",
        "epic": "epic,dramatic,majestic,heroic,grand,cinematic,powerful",
        "cozy": "cozy,cosy,warm,snug,homely",
        "sad": "sad,melancholy,lonely,gloomy,somber",
    },
    Category.STYLE: {
        "watercolor": "watercolor,watercolour,painted,painting,gouache",
        "pixel": "pixel,pixel art,8-bit,pixelated,retro game",
        "pastel": "pastel,soft colors,pastel colors",
        "neon": "neon,cyberpunk,synthwave,glowing neon",
        "vintage": "vintage,sepia,old photo,antique,retro",
        "noir": "noir,black and white,monochrome,grayscale,greyscale",
        "cartoon": "cartoon,comic,animated,anime,illustrated,illustration",
    },
    Category.COLOUR: {
        "red": "red,crimson,scarlet",
        "orange": "orange,amber",
        "yellow": "yellow",
        "gold": "gold,golden",
        "green": "green,emerald",
        "blue": "blue,azure,cobalt",
        "teal": "teal,turquoise,cyan,aqua",
        "purple": "purple,violet,lilac,lavender",
        "pink": "pink,magenta,rose pink",
        "white": "white,silver,ivory",
        "black": "black,dark",
        "brown": "brown,chocolate",
    },
    Category.VERB: {
        "jump": "jump,hop,leap,bounce,skip,play,playing,frolic",
        "run": "run,sprint,race,dash,gallop,chase,flee,jog",
        "walk": "walk,stroll,wander,march,hike,trot,explore,roam",
        "fly": "fly,soar,glide,flutter,flap,flight,flying",
        "swim": "swim,dive,paddle,swimming",
        "spin": "spin,twirl,rotate,whirl,pirouette",
        "dance": "dance,boogie,sway,groove,dancing",
        "float": "float,drift,hover,levitate,bob,sail",
        "drive": "drive,ride,cruise,zoom,speed,riding,driving",
        "grow": "grow,bloom,sprout,blossom,growing",
        "sleep": "sleep,sleeping,asleep,nap,napping,doze,dozing,snooze,snoozing,slumber,"
        "lying,lie,curled up,dreaming",
        "sit": "sit,sitting,perched,perch,seated,sat,rest,resting,relax,relaxing",
        "idle": "stand,standing,wait,waiting,watch,watching,look,looking,gaze,gazing",
    },
    Category.EFFECT: {
        "sparkles": "sparkles,sparkle,sparkling,glitter,glittering,shimmering,twinkling,glowing",
        "fairy dust": "fairy dust,pixie dust,magic dust,stardust,dust",
        "fireflies": "fireflies,firefly,glowworms,lightning bugs",
        "bubbles": "bubbles,bubble,bubbly",
        "petals": "petals,falling petals,cherry blossoms,sakura",
        "leaves": "leaves,autumn,fall foliage,falling leaves",
        "hearts": "hearts,love",
        "confetti": "confetti,party,celebration,festive,fireworks,carnival",
    },
    Category.SIZE: {
        "small": "small,tiny,little,mini,baby",
        "big": "big,huge,giant,enormous,large,massive",
    },
}

_STOP = set(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "at",
        "with",
        "through",
        "and",
        "or",
        "to",
        "over",
        "under",
        "into",
        "across",
        "around",
        "by",
        "from",
        "its",
        "their",
        "his",
        "her",
        "is",
        "are",
        "was",
        "were",
        "be",
        "very",
        "some",
        "many",
        "lots",
        "lot",
        "this",
        "that",
        "these",
        "those",
        "who",
        "which",
        "while",
        "as",
        "for",
        "near",
        "next",
        "beside",
        "above",
        "below",
        "between",
        "among",
        "along",
        "up",
        "down",
        "out",
        "off",
        "it",
        "they",
        "he",
        "she",
        "we",
        "i",
        "my",
        "our",
        "your",
        "one",
        "scene",
        "image",
        "video",
        "picture",
        "view",
        "background",
        "style",
        "art",
        "beautiful",
        "pretty",
        "nice",
        "amazing",
        "stunning",
        "awesome",
        "detailed",
        "high",
        "quality",
        "realistic",
        "photo",
        "shot",
        "photograph",
        "render",
        "rendering",
        "4k",
        "hd",
        "animated",
        "illustrated",
        "while",
        "has",
        "have",
        "having",
        "being",
        "there",
        "here",
        "together",
        "each",
        "other",
        "another",
        "just",
        "so",
        "full",
        "during",
        "outside",
        "after",
        "before",
        "when",
        "where",
        "then",
        "all",
        "still",
    ]
)
_DESCRIPTIVE = frozenset(
    [
        "tall",
        "short",
        "old",
        "new",
        "young",
        "bright",
        "dim",
        "soft",
        "hard",
        "slow",
        "fast",
        "quick",
        "lone",
        "alone",
        "single",
        "wide",
        "narrow",
        "deep",
        "shallow",
        "light",
        "heavy",
        "wet",
        "dry",
        "hot",
        "cold",
        "cool",
        "warm",
        "fresh",
        "wild",
        "tiny",
        "colorful",
        "colourful",
        "vivid",
        "faint",
        "distant",
        "far",
        "close",
        "clean",
        "dirty",
        "round",
        "flat",
        "thick",
        "thin",
        "lush",
        "rocky",
        "sandy",
        "grassy",
        "green",
        "rolling",
        "misty",
        "stormy",
        "gentle",
        "strong",
        "wooden",
        "stone",
    ]
)
"""Common describing words: not things, so never reported as not drawn when unmatched."""
_MOOD_PRIORITY = [
    "magical",
    "spooky",
    "romantic",
    "epic",
    "mysterious",
    "sad",
    "cozy",
    "calm",
    "cheerful",
]
_NUMBERS = {"two": 2, "three": 3, "four": 4, "five": 5, "pair": 2, "couple": 2, "several": 3}

# Per-category bars on cosine similarity for matches by meaning (MiniLM single words).
_THRESHOLDS: dict[Category, float] = {
    Category.SUBJECT: 0.6,
    Category.THING: 0.78,
    Category.SETTING: 0.66,
    Category.TIME: 0.7,
    Category.WEATHER: 0.7,
    Category.MOOD: 0.62,
    Category.STYLE: 0.75,
    Category.COLOUR: 0.8,
    Category.VERB: 0.55,
    Category.EFFECT: 0.7,
    Category.SIZE: 0.8,
}


@dataclass(frozen=True)
class Mention:
    """A subject named in the prompt, with what it does and how it was recognised."""

    key: str
    icon: str
    kind: Kind
    word: str
    position: int
    verb: str
    verb_word: str = ""
    colour: str = ""
    count: int = 1
    size: float = 1.0
    how: str = "spelling"
    score: float = 1.0
    concept: Concept | None = None


@dataclass(frozen=True)
class PromptParse:
    prompt: str
    subjects: tuple[Mention, ...] = ()
    setting: str = ""
    time: str = ""
    weather: tuple[str, ...] = ()
    mood: str = ""
    style: str = ""
    colours: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ()
    effects: tuple[str, ...] = ()
    matcher: str = "lexical"
    unknown: tuple[str, ...] = ()
    """Words that matched nothing and look like things (not describing words): what the
    scene cannot draw, reported with the render rather than silently dropped."""
    matches: tuple[tuple[str, str, str, float], ...] = field(default=())
    """(word, category, key, score) for every recognised word: for tests and debugging."""


@dataclass(frozen=True)
class _Entry:
    category: Category
    key: str
    text: str


def _stems(word: str) -> list[str]:
    """Spellings to try for a word: itself, singular, base verb, adjective stem."""
    out = [word]
    if word.endswith("ies") and len(word) > 4:
        out.append(word[:-3] + "y")
    if word.endswith("es") and len(word) > 3:
        out.append(word[:-2])
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        out.append(word[:-1])
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            base = word[: -len(suffix)]
            out += [base, base + "e"]
            if len(base) > 2 and base[-1] == base[-2]:
                out.append(base[:-1])
    if word.endswith("ly") and len(word) > 4:
        out.append(word[:-2])
    if word.endswith("y") and len(word) > 4:
        out.append(word[:-1])
    return out


class Matcher:
    """Words -> vocabulary entries, by spelling, then by meaning when the model is there."""

    def __init__(
        self,
        *,
        icons: IconSet | None,
        model: MiniLM | None,
        cache_dir: Path | None = None,
    ) -> None:
        self.icons = icons
        self.model = model
        self.concepts = {c.key: c for c in SUBJECTS if icons is None or c.icon in icons}
        entries: list[_Entry] = []
        for c in self.concepts.values():
            entries += [_Entry(Category.SUBJECT, c.key, w) for w in c.words]
        for cat, terms in _TERMS.items():
            for key, words in terms.items():
                entries += [_Entry(cat, key, w.strip()) for w in words.split(",")]
        self.things: set[str] = set()
        if icons is not None:
            known = {c.icon for c in self.concepts.values()}
            for name in icons.thing_names():
                if name not in known:
                    self.things.add(name)
                    entries.append(_Entry(Category.THING, name, name.replace("-", " ")))
        self.entries = entries
        self.lexicon: dict[str, _Entry] = {}
        for e in entries:  # first spelling wins: curated terms before icon names
            self.lexicon.setdefault(e.text, e)
        self._emb: npt.NDArray[np.float32] | None = None
        self._cache_dir = cache_dir

    @property
    def name(self) -> str:
        return "minilm" if self.model is not None else "lexical"

    def _embeddings(self) -> npt.NDArray[np.float32]:
        if self._emb is None:
            assert self.model is not None
            texts = [e.text for e in self.entries]
            digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
            path = None
            if self._cache_dir is not None:
                path = self._cache_dir / f"scene-vocab-minilm-{digest}.npy"
                if path.is_file():
                    cached = np.load(path)
                    if cached.shape == (len(texts), 384):
                        self._emb = np.asarray(cached, dtype=np.float32)
                        return self._emb
            self._emb = self.model.encode(texts)
            if path is not None:
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    tmp = path.with_name(f".{path.name}.tmp.npy")
                    np.save(tmp, self._emb)
                    tmp.replace(path)
                except OSError:
                    pass  # a read-only models dir only costs the recompute
        return self._emb

    def lexical(self, phrase: str) -> _Entry | None:
        for stem in _stems(phrase):
            if stem in self.lexicon:
                return self.lexicon[stem]
        return None

    def by_meaning(self, words: list[str]) -> list[tuple[_Entry, float] | None]:
        if self.model is None or not words:
            return [None] * len(words)
        emb = self._embeddings()
        sims = self.model.encode(words) @ emb.T
        out: list[tuple[_Entry, float] | None] = []
        for row in sims:
            best: tuple[_Entry, float] | None = None
            for j in np.argsort(-row)[:8]:
                e = self.entries[int(j)]
                score = float(row[j])
                if score >= _THRESHOLDS[e.category]:
                    best = (e, score)
                    break
            out.append(best)
        return out


_POSE_SUFFIX = {"run": "running", "dance": "dancing", "swim": "swimming", "walk": "walking"}
_POSE_ICON = {"sleep": "person-in-bed", "sit": "person-in-lotus-position"}
"""Whole-figure icons for a person's action that no suffix names."""


def _pose_icon(icon: str, verb: str, icons: IconSet | None) -> str:
    """People have icons per action: a dancing woman is ``woman-dancing``, not ``woman-walking``,
    and a sleeping one lies in bed."""
    base = icon.split("-")[0]
    if icons is None or base not in ("man", "woman", "person", "child", "baby", "princess"):
        return icon
    if verb in _POSE_ICON and _POSE_ICON[verb] in icons:
        return _POSE_ICON[verb]
    if base == "child" and verb not in _POSE_SUFFIX and "person-standing" in icons:
        return "person-standing"
    if base not in ("man", "woman", "person", "child") or verb not in _POSE_SUFFIX:
        return icon
    # A child's icon is only a face: a child doing something is a (smaller) whole figure.
    figure = "person" if base == "child" else base
    for candidate in (f"{figure}-{_POSE_SUFFIX[verb]}", f"woman-{_POSE_SUFFIX[verb]}"):
        if candidate in icons:
            return candidate
    return icon


_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")


def parse_prompt(prompt: str, matcher: Matcher) -> PromptParse:
    """Read a prompt into its parts (see module doc). Never fails; unknown words are ignored."""
    words = _WORD.findall(prompt.lower().replace("'s ", " "))
    found: list[tuple[int, int, str, _Entry, float, str]] = []  # start, end, word, entry, score
    i = 0
    pending: list[tuple[int, str]] = []
    while i < len(words):
        hit = None
        for n in (3, 2, 1):
            if i + n > len(words):
                continue
            phrase = " ".join(words[i : i + n])
            if n == 1 and (phrase in _STOP or phrase in _NUMBERS):
                break
            e = matcher.lexical(phrase)
            if e is not None:
                hit = (i, i + n, phrase, e, 1.0, "spelling")
                break
        if hit is not None:
            found.append(hit)
            i = hit[1]
            continue
        w = words[i]
        if w not in _STOP and w not in _NUMBERS and not w.isdigit() and len(w) > 2:
            pending.append((i, w))
        i += 1
    unknown: list[str] = []
    for (pos, w), m in zip(pending, matcher.by_meaning([w for _, w in pending]), strict=True):
        if m is not None:
            found.append((pos, pos + 1, w, m[0], m[1], "meaning"))
        elif w not in _DESCRIPTIVE and not w.endswith("ly"):
            unknown.append(w)
    found.sort(key=lambda f: f[0])

    def first(cat: Category) -> str:
        return next((f[3].key for f in found if f[3].category == cat), "")

    def every(cat: Category) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f[3].key for f in found if f[3].category == cat))

    verbs = [(f[0], f[3].key, f[2]) for f in found if f[3].category == Category.VERB]
    subjects: list[Mention] = []
    subject_hits = [f for f in found if f[3].category in (Category.SUBJECT, Category.THING)]
    used_colours: set[int] = set()
    for k, (start, _end, word, entry, score, how) in enumerate(subject_hits):
        concept = matcher.concepts.get(entry.key) if entry.category == Category.SUBJECT else None
        kind = concept.kind if concept is not None else Kind.THING
        icon = concept.icon if concept is not None else entry.key
        # Modifiers directly before the noun: "two small red cars".
        count, colour, size = 1, "", 1.0
        for back in range(max(0, start - 3), start):
            token = words[back]
            if token in _NUMBERS:
                count = _NUMBERS[token]
        for f in found:
            if start - 3 <= f[0] < start:
                if f[3].category == Category.COLOUR:
                    colour = f[3].key
                    used_colours.add(f[0])
                elif f[3].category == Category.SIZE:
                    size = 0.7 if f[3].key == "small" else 1.35
        if count == 1 and word != entry.text and word.endswith("s") and kind != Kind.BUILDING:
            count = 3 if kind in (Kind.BIRD, Kind.FLYER, Kind.AQUATIC, Kind.PLANT) else 2
        # The verb: the nearest one after the noun (before the next noun), else just before it.
        nxt = subject_hits[k + 1][0] if k + 1 < len(subject_hits) else len(words)
        after = [v for v in verbs if start < v[0] < nxt]
        before = [v for v in verbs if v[0] < start]
        chosen = after[0] if after else (before[-1] if before and k == 0 else None)
        verb = chosen[1] if chosen else DEFAULT_VERB[kind]
        icon = _pose_icon(icon, verb, matcher.icons)
        subjects.append(
            Mention(
                key=entry.key,
                icon=icon,
                kind=kind,
                word=word,
                position=start,
                verb=verb,
                verb_word=chosen[2] if chosen else "",
                colour=colour,
                count=min(5, count),
                size=size,
                how=how,
                score=score,
                concept=concept,
            )
        )
    colours = tuple(
        dict.fromkeys(
            f[3].key for f in found if f[3].category == Category.COLOUR and f[0] not in used_colours
        )
    )
    return PromptParse(
        prompt=prompt,
        subjects=tuple(subjects),
        setting=first(Category.SETTING),
        time=first(Category.TIME),
        weather=every(Category.WEATHER),
        mood=min(every(Category.MOOD), key=_MOOD_PRIORITY.index, default=""),
        style=first(Category.STYLE),
        colours=colours,
        verbs=tuple(dict.fromkeys(v[1] for v in verbs)),
        effects=every(Category.EFFECT),
        matcher=matcher.name,
        unknown=tuple(dict.fromkeys(unknown)),
        matches=tuple((f[2], str(f[3].category), f[3].key, round(f[4], 3)) for f in found),
    )
