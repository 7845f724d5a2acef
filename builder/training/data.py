"""Datasets of target images: a folder of photographs or a built-in procedural theme.

Every image is decoded and pre-resized once (short side `cache_side(size)`, enough for a 130 %
scale of the crop), in parallel, into a cache keyed by content; epochs then never decode
full-size files again. Pairs are made on the fly by `builder.training.transform.make_pair`.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import math
import os
import re
import signal
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from tqdm import tqdm

from builder.atomic import interrupted_while, new_file
from builder.errors import ConfigError, DataError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
VAL_SEED_OFFSET = 1_000_000  # theme seeds at and above this are held out
REFERENCE_SEED_OFFSET = 2_000_000  # and at and above this, the evaluation's references (never trained on)


@dataclass
class Dataset:
    name: str
    train: list[np.ndarray]  # (H, W, 3) uint8, short side == cache_side (or the original, if smaller)
    val: list[np.ndarray]
    flip_horizontal: bool
    flip_vertical: bool
    skipped: list[str] = field(default_factory=list)  # one line per unusable file
    render: Callable[[int], np.ndarray] | None = None  # seed -> a fresh image (built-in themes only)

    def stream(self, refresh_every: int, start_step: int) -> "ImagePool":
        """The training images as a pool; for a theme with refresh_every > 0, one image is replaced
        by a fresh render every refresh_every steps (seeds after the initial set, never reused)."""
        if not self.render or refresh_every <= 0:
            return ImagePool(list(self.train))
        return ImagePool(list(self.train), self.render, refresh_every,
                         renewed=start_step // refresh_every)


class ImagePool:
    """The images pairs are drawn from; `draw` is called once per sample by the data stream."""

    def __init__(self, images: list[np.ndarray], render=None, refresh_every: int = 0, renewed: int = 0):
        self.images, self.render, self.refresh_every = images, render, refresh_every
        self.renewed, self.count = renewed, len(images)
        self.drawn = 0

    def draw(self, rng: np.random.Generator, batch_size: int) -> np.ndarray:
        self.drawn += 1
        if self.render and self.drawn % (self.refresh_every * batch_size) == 0:
            # Seeds count on from the initial set; the oldest slot goes first.
            self.images[self.renewed % self.count] = self.render(self.count + self.renewed)
            self.renewed += 1
        return self.images[int(rng.integers(len(self.images)))]


def cache_side(size: int) -> int:
    """Short side of cached images: 1.3x the crop plus headroom (400 px for a 256 crop)."""
    return math.ceil(size * 1.5625)


def _atomic_save(image: Image.Image, path: Path) -> None:
    with new_file(path) as tmp:
        image.save(tmp, format="PNG", compress_level=1)


def _problem(path: Path, data: bytes, image: Image.Image, min_side: int) -> str | None:
    """Why this image cannot be a target, with the fix; None when it can."""
    if path.suffix.lower() == ".png" and len(data) > 24 and data[24] == 16:
        return "16-bit PNG; convert it to 8-bit RGB (e.g. `magick in.png -depth 8 out.png`)"
    mode = image.mode
    if mode in ("1", "L", "I", "I;16", "F") or mode.startswith("I;"):
        return f"grayscale image (mode {mode}); targets need colour: convert it to RGB"
    if mode == "CMYK":
        return "CMYK image; convert it to RGB (e.g. `magick in.jpg -colorspace sRGB out.jpg`)"
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
        return f"has an alpha channel (mode {mode}); flatten it to RGB"
    if min(image.size) < min_side:
        return f"{image.size[0]}x{image.size[1]} is smaller than the {min_side}px crop; use larger images or a smaller --size"
    return None


def _prepare_file(job: tuple[Path, Path, int, int]) -> tuple[str, str | None]:
    """Decode, check and pre-resize one file into the cache. Returns (cache path, problem)."""
    path, cache_dir, side, min_side = job
    try:
        data = path.read_bytes()
    except OSError as e:
        return "", f"{path}: unreadable ({e.strerror}); check its permissions"
    cached = cache_dir / f"{hashlib.sha1(data).hexdigest()}-{side}.png"
    if cached.exists():
        return str(cached), None
    try:
        import io

        with warnings.catch_warnings():  # over Pillow's pixel limit it warns; over twice the limit it raises
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
        problem = _problem(path, data, image, min_side)
        if problem:
            return "", f"{path}: {problem}"
        image = ImageOps.exif_transpose(image).convert("RGB")  # also forces a full decode
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        pixels = re.search(r"\((\d+) pixels\)", str(e))  # Pillow's message gives the size, not the image
        size = f"{int(pixels.group(1)) / 1e6:.0f} megapixels" if pixels else "too many pixels"
        return "", (f"{path}: {size}, over Pillow's limit of {Image.MAX_IMAGE_PIXELS / 1e6:.0f} (its guard "
                    f"against decompression bombs); resize it (e.g. `magick in.png -resize 6000x6000 out.png`)")
    except UnidentifiedImageError:
        return "", f"{path}: not an image (corrupt or unknown format); delete or replace it"
    except (OSError, SyntaxError, ValueError) as e:
        return "", f"{path}: corrupt or truncated ({e}); delete or re-export it"
    w, h = image.size
    if min(w, h) > side:
        k = side / min(w, h)
        image = image.resize((max(side, round(w * k)), max(side, round(h * k))), Image.Resampling.LANCZOS)
    _atomic_save(image, cached)
    return str(cached), None


def _theme_version(theme: str) -> str:
    """Hash of what draws `theme` (its module, the shared helpers, `render`): in the cache key, so an
    edited theme never reuses stale images, and adding another theme re-renders nothing."""
    import inspect
    from builder.training import themes

    folder = Path(themes.__file__).parent
    sources = [folder / f"{theme}.py", folder / "shared.py"]
    code = b"".join(p.read_bytes() for p in sources if p.is_file()) + inspect.getsource(themes.render).encode()
    return hashlib.sha1(code).hexdigest()[:8]


def _render_theme(job: tuple[str, int, int, Path, str]) -> str:
    from builder.training import themes

    theme, seed, side, cache_dir, version = job
    cached = cache_dir / f"theme-{theme}-{seed}-{side}-{version}.png"
    if not cached.exists():
        _atomic_save(Image.fromarray(themes.render(theme, seed, side)), cached)
    return str(cached)


def theme_images(theme: str, seeds: list[int], side: int, cache_dir: Path, version: str | None = None) -> list:
    """Theme images at `seeds`, (side.., 3) uint8, rendered in parallel into the disk cache (or read from it)."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    version = version or _theme_version(theme)  # once, not once per image
    jobs = [(theme, s, side, cache_dir, version) for s in seeds]
    with _into_cache(f"rendering the {theme} theme", cache_dir):
        return _read(_parallel(_render_theme, jobs, f"rendering {theme}"))


@contextlib.contextmanager
def _into_cache(doing: str, cache_dir: Path):
    """Ctrl-C or a full disk while filling the cache: one line each. Every entry is written beside and
    renamed over (`_atomic_save`), so neither leaves a half-written image for the next run to read."""
    with interrupted_while(f"{doing} into {cache_dir}"):
        try:
            yield
        except OSError as e:
            if e.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            raise DataError(f"{cache_dir}: no space left on the disk while {doing}; free some space or pass "
                            f"another --cache-dir") from None


def _parallel(fn, jobs: list, desc: str) -> list:
    workers = min(os.cpu_count() or 1, 8, max(1, len(jobs)))
    serial = workers == 1 or len(jobs) < 4
    # Ctrl-C reaches the workers too: they ignore it and finish the image in hand (else each prints a
    # traceback), the parent's map cancels the jobs not yet started and leaving the pool waits for the
    # others. Then the bar is erased, so that the one line said about it starts a line of its own.
    pool = contextlib.nullcontext() if serial else ProcessPoolExecutor(
        workers, initializer=signal.signal, initargs=(signal.SIGINT, signal.SIG_IGN))
    with tqdm(total=len(jobs), desc=desc, unit="img", leave=False, dynamic_ncols=True) as bar, pool:
        results = []
        for result in (map(fn, jobs) if serial else pool.map(fn, jobs, chunksize=4)):
            results.append(result)
            bar.update()
        return results


def _read(paths: list[str]) -> list[np.ndarray]:
    return [np.asarray(Image.open(p).convert("RGB")) for p in paths]


def find_images(folder: Path) -> list[Path]:
    """The image files under `folder`, through symlinked sub-folders too (each real folder once, so a
    link back up cannot loop)."""
    found, seen = [], set()
    for top, dirs, names in os.walk(folder, followlinks=True):
        real = os.path.realpath(top)
        if real in seen:
            dirs.clear()
            continue
        seen.add(real)
        found += [Path(top) / n for n in names if Path(n).suffix.lower() in IMAGE_SUFFIXES]
    return sorted(p for p in found if p.is_file())


def load_folder(folder: Path, *, size: int, cache_dir: Path, val_pairs: int, min_images: int) -> Dataset:
    if not folder.exists():
        raise DataError(f"{folder}: dataset folder not found; pass a folder of images or a theme name")
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder; pass a folder of jpg/png/webp images or a theme name")
    files = find_images(folder)
    if not files:
        raise DataError(f"{folder}: no .jpg, .png or .webp images found (searched recursively); add images")
    cache_dir.mkdir(parents=True, exist_ok=True)
    side = cache_side(size)
    with _into_cache(f"preparing the images of {folder}", cache_dir):
        results = _parallel(_prepare_file, [(f, cache_dir, side, size) for f in files], f"preparing {folder.name}")
    usable = sorted({path for path, problem in results if not problem})  # content-deduplicated
    skipped = [problem for _, problem in results if problem]
    if len(usable) < min_images:
        first = f"; first problem: {skipped[0]}" if skipped else ""
        raise DataError(f"{folder}: only {len(usable)} usable images of {len(files)} (need at least "
                        f"{min_images}){first}")
    n_val = max(1, min(val_pairs, len(usable) // 10))
    images = _read(usable)
    return Dataset(folder.name, images[:-n_val], images[-n_val:], True, False, skipped)


def load_theme(theme: str, *, size: int, cache_dir: Path, count: int, val_count: int) -> Dataset:
    from builder.training import themes

    info = themes.THEMES[theme]
    side = cache_side(size)
    version = _theme_version(theme)
    seeds = list(range(count)) + [VAL_SEED_OFFSET + i for i in range(val_count)]
    images = theme_images(theme, seeds, side, cache_dir, version)

    def render(seed: int) -> np.ndarray:  # cached on disk like the initial set
        return _read([_render_theme((theme, seed, side, cache_dir, version))])[0]

    return Dataset(theme, images[:count], images[count:], info.flip_horizontal, info.flip_vertical, render=render)


def unpaired_images(config) -> list[np.ndarray]:
    """What the unpaired theme loss makes its target-less inputs from, theme_images in all: pictures
    of every built-in theme but the one trained (all four for a folder; cached like a theme's),
    procedural rooms (scenes.py), or half of each (config.unpaired_inputs)."""
    from builder.training import scenes, themes

    count = config.theme_images if config.unpaired_inputs != "both" else max(1, config.theme_images // 2)
    images = []
    if config.unpaired_inputs in ("themes", "both"):
        others = [t for t in themes.THEMES if t != config.dataset]
        images += [image for theme in others
                   for image in load_theme(theme, size=config.size, cache_dir=Path(config.cache_dir),
                                           count=max(1, count // len(others)), val_count=0).train]
    if config.unpaired_inputs in ("scenes", "both"):
        side = cache_side(config.size)
        images += _parallel(functools.partial(scenes.render, side=side), list(range(count)), "rendering rooms")
    return images


def load_dataset(config) -> Dataset:
    """The dataset a TrainConfig names: a theme if it is one, else a folder."""
    from builder.training import themes

    cache_dir = Path(config.cache_dir)
    if config.dataset in themes.THEMES:
        return load_theme(config.dataset, size=config.size, cache_dir=cache_dir,
                          count=config.theme_images, val_count=config.val_pairs)
    path = Path(config.dataset)
    if not path.exists() and os.sep not in config.dataset and "." not in config.dataset:
        raise ConfigError(f"unknown theme '{config.dataset}' and no such folder; "
                          f"themes: {', '.join(themes.THEMES)}")
    return load_folder(path, size=config.size, cache_dir=cache_dir,
                       val_pairs=config.val_pairs, min_images=config.min_images)
