"""Procedural rooms: what a visitor's camera sees, as far as the 24x-downscaled soft input can tell.

Not a theme (nothing is trained to paint these): inputs for the unpaired theme loss
(`--unpaired-inputs scenes`), so the generator learns what to paint on a scene like a visitor's
(a wall, a table's edge, a few lit objects with their shadows, a bright window or lamp) instead of
only on the other themes' pictures (a starfield, a horizon, flames on black), which are all the
paired and unpaired losses saw before. The soft input keeps the layout at 24 px and the light,
so that is what these draw: a lit wall and a table top at a random height, dead-leaves objects
(ellipses and boxes, occluding one another, each shaded from one side with a soft shadow under
it), sometimes a bright light source, sensor grain. Deterministic by seed, pure NumPy.
"""

from __future__ import annotations

import numpy as np

from builder.training.transform import LUMA


def _grid(side: int) -> tuple[np.ndarray, np.ndarray]:
    y, x = np.mgrid[0:side, 0:side].astype(np.float32) / side
    return y, x


def _colour(rng: np.random.Generator, light: float) -> np.ndarray:
    """A surface colour of about `light` luma: mostly muted, sometimes vivid."""
    grey = rng.uniform(0.0, 1.0)
    hue = rng.uniform(0, 1, 3)
    saturation = rng.choice([0.1, 0.3, 0.7], p=[0.5, 0.3, 0.2])
    c = (1 - saturation) * grey + saturation * hue
    return np.clip(c * light / max(float(c @ LUMA), 1e-3), 0, 1).astype(np.float32)


def _lit(y, x, rng, base: np.ndarray, amount: float) -> np.ndarray:
    """`base` colour under a linear light gradient across the picture, in a random direction."""
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * (x - 0.5) + np.sin(angle) * (y - 0.5)) * amount
    return np.clip(base[None, None] * (1 + ramp[..., None]), 0, 1)


def render(seed: int, side: int) -> np.ndarray:
    """(side, side, 3) uint8: one room at `seed`."""
    rng = np.random.default_rng([seed, 0x5CE5])
    y, x = _grid(side)
    room = _lit(y, x, rng, _colour(rng, rng.uniform(0.25, 0.85)), rng.uniform(0.2, 1.0))
    horizon = rng.uniform(0.3, 0.85) if rng.random() < 0.8 else 2.0  # else a wall close up
    tilt = rng.uniform(-0.15, 0.15)
    table = y > horizon + tilt * (x - 0.5)
    room = np.where(table[..., None], _lit(y, x, rng, _colour(rng, rng.uniform(0.15, 0.8)), 0.8), room)

    if rng.random() < 0.35:  # a window or a lamp: the brightest thing in a room
        cy, cx, r = rng.uniform(0, 0.6), rng.uniform(0, 1), rng.uniform(0.05, 0.25)
        glow = np.exp(-(((y - cy) ** 2 + (x - cx) ** 2) / (r * r)) ** 2)
        room = room + (1 - room) * glow[..., None] * rng.uniform(0.6, 1.0)

    for _ in range(int(rng.integers(1, 9))):  # dead leaves: later objects in front of earlier ones
        size = float(np.exp(rng.uniform(np.log(0.06), np.log(0.45))))
        cy = rng.uniform(min(horizon, 0.9) - size * 0.5, 1.0 + size * 0.3)
        cx = rng.uniform(-0.1, 1.1)
        ry, rx = size * rng.uniform(0.5, 1.3), size * rng.uniform(0.4, 1.2)
        dy, dx = (y - cy) / ry, (x - cx) / rx
        shape = (dy ** 2 + dx ** 2 < 1) if rng.random() < 0.5 else (np.maximum(abs(dy), abs(dx)) < 1)
        shadow = np.exp(-((y - cy - ry * 0.9) ** 2 / (0.3 * ry) ** 2 + (x - cx - rx * 0.3) ** 2 / rx ** 2))
        room = room * (1 - rng.uniform(0.3, 0.7) * shadow[..., None] * (y > cy)[..., None])
        body = _lit(y, x, rng, _colour(rng, rng.uniform(0.05, 0.95)), rng.uniform(0.5, 1.5))
        room = np.where(shape[..., None], body, room)

    room = room + rng.normal(0, rng.uniform(0.005, 0.03), room.shape).astype(np.float32)
    return (np.clip(room, 0, 1) * 255 + 0.5).astype(np.uint8)
