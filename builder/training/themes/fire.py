"""Fire: flames rising from a bed of embers, with glow, smoke and sparks."""

from __future__ import annotations

import numpy as np

from builder.training.themes.shared import convolve, noise, pixel_grid, sample, smoothstep, splat, tone_map


# Colour ramps of flame temperature 0..1, linear RGB at 0, 0.25, 0.5, 0.75, 1.
_FIRE_RAMPS = np.array(
    [
        [[0, 0, 0], [0.35, 0.02, 0.0], [1.0, 0.22, 0.01], [1.0, 0.62, 0.12], [1.0, 0.95, 0.7]],  # wood fire
        [[0, 0, 0], [0.45, 0.0, 0.03], [1.0, 0.08, 0.02], [1.0, 0.45, 0.05], [1.0, 0.85, 0.4]],  # deep red
        [[0, 0, 0], [0.02, 0.05, 0.35], [0.1, 0.3, 1.0], [0.45, 0.75, 1.0], [0.9, 0.97, 1.0]],  # gas blue
        [[0, 0, 0], [0.0, 0.25, 0.05], [0.15, 0.8, 0.15], [0.6, 1.0, 0.35], [0.95, 1.0, 0.85]],  # copper
    ]
)


def draw(rng: np.random.Generator, size: int) -> np.ndarray:
    """Flames rising from a bed of embers, with sparks and smoke, against the dark."""
    ramp = _FIRE_RAMPS[rng.choice(len(_FIRE_RAMPS), p=[0.55, 0.25, 0.1, 0.1])]
    count = int(rng.integers(1, 5))
    centres, widths = rng.uniform(0.05, 0.95, count), rng.uniform(0.06, 0.3, count)
    heights = rng.uniform(0.3, 0.95, count)  # flame heights, image heights
    wall = rng.random() < 0.3  # a line of fire across the frame instead of separate fires
    bed = rng.uniform(0.04, 0.16)  # height of the glowing bed at the bottom
    sway_px = rng.uniform(0.04, 0.12) * size
    lean = rng.normal(0.0, 0.15)  # wind, in image widths per image height

    yy, xx = pixel_grid(size)
    up = 1.0 - (yy + 0.5) / size  # 0 at the bottom edge
    sway = noise(rng, size, 3.5, stretch=(1.5, 1.0))
    tongues = noise(rng, size, 3.0, stretch=(3.0, 1.0))  # tall: flames are drawn out upwards
    licks = noise(rng, size, 2.6, stretch=(2.5, 1.0))
    smoke = noise(rng, size, 3.0, stretch=(1.5, 1.0))
    coals = noise(rng, size, 3.0, stretch=(1.0, 1.5))
    # Flames lean and sway more the higher they reach; their texture sways with them.
    shift_px = (sway_px * sway + lean * size * up) * up
    tongues, licks = np.moveaxis(sample(np.stack([tongues, licks], axis=-1), xx + shift_px, yy), -1, 0)
    x = ((xx + 0.5 + shift_px) / size)[..., None]
    reach = (heights * np.exp(-(((x - centres) / widths) ** 2))).max(axis=-1)  # (size, size)
    if wall:
        reach = np.maximum(reach, heights.mean() * (0.7 + 0.2 * np.tanh(tongues)))
    # Hot at the base, cooling with height; noise tears the top into tongues.
    heat = 1.25 * (1.0 - up / np.maximum(reach, 1e-3)) + 0.5 * tongues + 0.15 * licks
    heat = np.clip(heat, 0.0, 1.4) * smoothstep(0.02, 0.08, reach)

    # Bed of embers: glowing seams between dark lumps of fuel.
    in_bed = smoothstep(bed + 0.02, bed - 0.02, up + 0.02 * smoke)
    seams = np.clip(1.0 - np.abs(coals) * 3.0, 0.0, 1.0) ** 2
    bed_heat = in_bed * (0.15 + 0.8 * seams) * (0.3 + 0.7 * smoothstep(0.0, 0.3, reach))
    heat = np.maximum(heat * (1.0 - in_bed), bed_heat)

    light = _ramp(ramp, heat / 1.4) * (1.0 + 2.0 * smoothstep(1.0, 1.4, heat))[..., None]
    bloom_px = 0.06 * size  # light scattered by smoke and air around the flames

    def gaussian(dy: np.ndarray, dx: np.ndarray) -> np.ndarray:
        return np.exp(-(dy * dy + dx * dx) / (2.0 * bloom_px**2)) / (2.0 * np.pi * bloom_px**2)

    glow = convolve(light, gaussian, 3.0 * bloom_px)
    haze = smoothstep(-1.0, 1.5, smoke)[..., None]  # smoke darkens some of the glow
    light = light + 0.6 * glow * (1.0 - 0.7 * haze)

    # Sparks: points carried up from the flames, smeared into short streaks by their motion.
    sparks = int(rng.integers(10, 60))
    across = (rng.choice(centres, sparks) + rng.normal(0.0, 0.12, sparks)) % 1.0
    down = 1.0 - rng.uniform(0.1, 1.0, sparks) ** 0.7  # more near the flames
    where = np.stack([across, down], axis=1)
    colour = _ramp(ramp, rng.uniform(0.6, 0.9, sparks)) * (0.5 * rng.random(sparks) ** -0.8)[:, None]
    streak_px = max(1.0, 0.006 * size)

    def streak(dy: np.ndarray, dx: np.ndarray) -> np.ndarray:  # short trail along the rise
        return np.exp(-((dx + lean * dy) ** 2) / 0.3 - (dy / streak_px) ** 2)

    trails = convolve(splat(size, where, colour), streak, 3.0 * streak_px)
    light = light + trails / (np.sqrt(np.pi) * streak_px)
    return tone_map(light, rng.uniform(0.8, 1.2))


def _ramp(stops: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Piecewise-linear colour ramp: stops (n, 3) evenly spaced over t in [0, 1]. (..., 3)"""
    position = np.clip(t, 0.0, 1.0) * (len(stops) - 1)
    low = np.minimum(position.astype(np.intp), len(stops) - 2)
    frac = (position - low)[..., None]
    return stops[low] * (1.0 - frac) + stops[low + 1] * frac
