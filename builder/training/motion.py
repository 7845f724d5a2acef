"""How far the scene moved between two camera frames, so that a generator's noise texture can
move with it (the runtime's js/frame/motion.js is the same computation in tf.js ops; the
scorecard uses this one on its pans, so both judge the model the way a visitor sees it).

The generator invents the fine detail the soft input lacks, from its noise texture; a texture
fixed to the screen leaves that detail in place while the scene pans under it. So each frame the
camera's square crop, in the model's luma, is area-averaged to a GRID x GRID map (the same area
pass as the input transform's, at another size: the soft input itself is too coarse, its 24-px
samples alias as the scene moves, 1.2 px of error a frame against about 0.1 for this map),
normalised; the previous map's centre is matched against the current one at every whole shift up
to REACH grid px each way (normalised cross-correlation); the best match refined to a fraction of
a grid pixel by the quadratic surface through its 3 x 3 neighbours. No match good enough, or a
scene with no contrast (a blank wall): no motion, so the texture never drifts on its own.
"""

from __future__ import annotations

import numpy as np

GRID = 64  # the crop's luma area-averaged to GRID x GRID (4 x 4 px cells at 256 px)
REACH = 8  # grid px searched each way: 32 px a frame at 256 px
MIN_CONTRAST = 0.01  # the map's std (luma in [0, 1]) under which a scene has no shapes to follow
MIN_MATCH = 0.6  # the best match's correlation under which the scene changed rather than moved
DEAD_ZONE = 0.05  # grid px: smaller moves are the camera's noise, not the scene's (0.4 px at 256)


def motion_map(crop: np.ndarray, luma) -> np.ndarray:
    """(n, n, 3) uint8 square camera crop -> (GRID, GRID) luma in [0, 1], area-averaged exactly
    (the input transform's area weights, as the runtime's area pass)."""
    from builder.training.transform import area_matrix

    gray = (np.asarray(crop, np.float64) @ np.asarray(luma, np.float64)) / 255.0
    weights = area_matrix(gray.shape[0], GRID).astype(np.float64)  # (GRID, n)
    return weights @ gray @ weights.T


def normalised(grid: np.ndarray) -> np.ndarray:
    """A motion map, zero mean and unit std (all zeros when it has no contrast)."""
    grid = np.asarray(grid, np.float64) - np.mean(grid)
    std = grid.std()
    return grid / std if std >= MIN_CONTRAST else np.zeros_like(grid)


def match(previous: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Normalised cross-correlation of the previous map's centre with the current map at each
    shift: (2 REACH + 1, 2 REACH + 1), entry [REACH + dy, REACH + dx] for content moved by (dy, dx)."""
    inner = GRID - 2 * REACH
    centre = previous[REACH:REACH + inner, REACH:REACH + inner]
    scores = np.zeros((2 * REACH + 1, 2 * REACH + 1))
    for i in range(2 * REACH + 1):
        for j in range(2 * REACH + 1):
            window = current[i:i + inner, j:j + inner]
            energy = np.sqrt((centre ** 2).sum() * (window ** 2).sum())
            scores[i, j] = (centre * window).sum() / energy if energy > 0 else 0.0
    return scores


def _refine(scores: np.ndarray) -> np.ndarray:
    """The vertex (dy, dx) of the quadratic surface through a 3 x 3 patch of scores around their
    peak, in [-0.5, 0.5] of a step each way; (0, 0) where the surface has no maximum. A surface,
    not a parabola an axis: a slanted peak (diagonal edges) pulls a parabola along one axis
    off by up to 0.15 grid px when the motion is along the other."""
    gy, gx = (scores[2, 1] - scores[0, 1]) / 2, (scores[1, 2] - scores[1, 0]) / 2
    hyy = scores[2, 1] - 2 * scores[1, 1] + scores[0, 1]
    hxx = scores[1, 2] - 2 * scores[1, 1] + scores[1, 0]
    hxy = (scores[2, 2] - scores[2, 0] - scores[0, 2] + scores[0, 0]) / 4
    det = hyy * hxx - hxy * hxy
    if not (det > 0 and hyy < 0):
        return np.zeros(2)
    return np.clip([-(hxx * gy - hxy * gx) / det, -(hyy * gx - hxy * gy) / det], -0.5, 0.5)


def motion(previous: np.ndarray, current: np.ndarray, size: int) -> np.ndarray:
    """(dy, dx) in px of a `size`-px model input: how far the scene's content moved from the
    previous motion map to the current one; (0, 0) when it did not move recognisably."""
    scores = match(normalised(previous), normalised(current))
    i, j = np.unravel_index(np.argmax(scores), scores.shape)
    if scores[i, j] < MIN_MATCH:
        return np.zeros(2)
    inside = 0 < i < 2 * REACH and 0 < j < 2 * REACH  # at the search's edge, only whole steps
    moved = np.array([i - REACH, j - REACH]) + (_refine(scores[i - 1:i + 2, j - 1:j + 2]) if inside else 0.0)
    moved[np.abs(moved) < DEAD_ZONE] = 0.0
    return moved * (size / GRID)


def travelled(maps: list[np.ndarray], size: int) -> np.ndarray:
    """(frames, 2): how far the scene has moved since the first of consecutive frames' motion maps,
    in px of a `size`-px model input (the first frame: 0)."""
    steps = [np.zeros(2)] + [motion(before, now, size) for before, now in zip(maps[:-1], maps[1:])]
    return np.cumsum(steps, axis=0)


def noise_shift(moved: np.ndarray, size: int, side: int) -> np.ndarray:
    """(2,) int32: the whole pixels by which a side x side noise pattern (of a `size`-px model)
    is moved for a scene that has moved by `moved` px: what the runtime feeds the graph's
    `noise_shift` input."""
    return (np.round(np.asarray(moved) / (size / side)).astype(np.int64) % side).astype(np.int32)
