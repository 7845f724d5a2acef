"""Built-in procedural datasets: target images made with NumPy alone, deterministic by seed.

`render(theme, seed, size)` draws one (size, size, 3) uint8 image. The generator learns to
recreate these from a heavy blur, so every theme varies its coarse light-and-dark layout from
seed to seed and carries detail at every scale. Noise is shaped in the Fourier domain and all
shading is vectorised: an image of 400 px takes a fraction of a second on one core.

Everything random is drawn in fractions of the image or in low-frequency Fourier blocks of a
fixed shape, so one seed gives the same picture at every size (only finer or coarser).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from builder.errors import ConfigError
from builder.training.themes import clouds, fire, nebula, ocean


@dataclass(frozen=True)
class ThemeInfo:
    """What a theme draws, and which flips keep its images plausible."""

    title: str
    """Name shown to people."""
    description: str
    """One line saying what the images look like."""
    flip_horizontal: bool
    """A mirror image is still a plausible image of the theme."""
    flip_vertical: bool
    """An upside-down image is still plausible (false where there is a sky or gravity)."""
    draw: Callable[[np.random.Generator, int], np.ndarray]
    """(rng, size) -> (size, size, 3) float display values in [0, 1]."""


THEMES: dict[str, ThemeInfo] = {
    "nebula": ThemeInfo(
        "Nebula",
        "Hubble-style emission nebulae: warped gas in seeded palettes, dust lanes, stars.",
        flip_horizontal=True,
        flip_vertical=True,
        draw=nebula.draw,
    ),
    "ocean": ThemeInfo(
        "Ocean",
        "The sea: waves to the horizon under a varied sky with sun glint, or a beach from above.",
        flip_horizontal=True,
        flip_vertical=False,
        draw=ocean.draw,
    ),
    "fire": ThemeInfo(
        "Fire",
        "Flames rising from the bottom in black-body colours, with sparks and smoke-dark gaps.",
        flip_horizontal=True,
        flip_vertical=False,
        draw=fire.draw,
    ),
    "clouds": ThemeInfo(
        "Clouds",
        "Cumulus and stratus skies at midday, golden hour, overcast or dusk; or a sea of clouds from above.",
        flip_horizontal=True,
        flip_vertical=False,
        draw=clouds.draw,
    ),
}

def render(theme: str, seed: int, size: int) -> np.ndarray:
    """Draw image `seed` of `theme`: (size, size, 3) uint8, the same for the same arguments."""
    if theme not in THEMES:
        known = ", ".join(sorted(THEMES))
        raise ConfigError(f"unknown theme {theme!r}: use one of {known}")
    if size < 16:
        raise ValueError(f"size must be at least 16 pixels, got {size}")
    # crc32, not hash(): str hashes change between Python processes.
    entropy = [int(seed) & 0xFFFFFFFFFFFFFFFF, zlib.crc32(theme.encode())]
    rng = np.random.default_rng(np.random.SeedSequence(entropy))
    image = THEMES[theme].draw(rng, size)  # (size, size, 3) float, display values in [0, 1]
    return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)

