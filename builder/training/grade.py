"""The output's colour grade (`--grade`): a fixed shift of the finished picture's mean colour.

Why: a generator learns its colours from its theme's own soft inputs, and a camera's scenes are
not those (darker, other layouts), so on a visitor's scene it can paint its theme's textures in
colours cooler or warmer on average than the theme's. `rooms` measures that bias where no
scorecard looks, on procedural rooms (scenes.py), and takes it out: the exported graph adds the
theme's mean colour minus the generator's mean colour over those rooms, then clips to [-1, 1].

It moves every pixel alike, so only the picture's overall colour changes (the scorecard's
coarsest level), never its texture. Like `sharpen`, it is in use only: training sees the
generator's own picture. Fitted to each checkpoint where it is exported or scored.
"""

from __future__ import annotations

import functools
from pathlib import Path

import keras
import numpy as np
from keras import layers

from builder.training.layers import clip_to_unit

ROOMS = 384  # rooms the bias is measured over: one room's mean red sits 0.26 from another's
# (ocean), so the mean of 384 has a standard error of 0.013; of 96, 0.027
FIRST_ROOM_SEED = 700_000  # seeds no training run draws rooms from (data.py draws from 0)
THEME_IMAGES = 96  # theme pictures its mean colour is taken over (training's own, seeds from 0)


@keras.saving.register_keras_serializable("builder")
class ColourShift(layers.Layer):
    """x + offset, clipped to [-1, 1] (layers.clip_to_unit, as Sharpen's); in use only."""

    def __init__(self, offset=(0.0, 0.0, 0.0), **kw):
        super().__init__(**kw)
        self.offset = tuple(float(v) for v in offset)

    def call(self, x, training=False):
        if training:
            return x
        return clip_to_unit(x + np.asarray(self.offset, np.float32))

    def get_config(self):
        return {**super().get_config(), "offset": list(self.offset)}


@functools.lru_cache(maxsize=4)
def _room_inputs(params) -> np.ndarray:
    """(ROOMS, S, S, 1): procedural rooms through the camera's input transform (cached per process:
    every checkpoint of a run is graded against the same rooms)."""
    from builder.training import scenes
    from builder.training.evaluate.inputs import camera_inputs

    return camera_inputs([scenes.render(FIRST_ROOM_SEED + i, params.size) for i in range(ROOMS)], params)


@functools.lru_cache(maxsize=4)
def theme_mean(dataset: str, params, cache_dir: Path) -> np.ndarray:
    """(3,): the mean colour, in [-1, 1], of the theme's training pictures as training crops them."""
    from builder.training import themes
    from builder.training.data import cache_side, load_folder, theme_images
    from builder.training.evaluate.inputs import targets

    if dataset in themes.THEMES:
        images = theme_images(dataset, list(range(THEME_IMAGES)), cache_side(params.size), Path(cache_dir))
    else:
        images = load_folder(Path(dataset), size=params.size, cache_dir=Path(cache_dir), val_pairs=1,
                             min_images=1).train[:THEME_IMAGES]
    return targets(images, params).mean(axis=(0, 1, 2))


def fit_offset(generator, dataset: str, params, cache_dir: Path, batch: int = 16) -> np.ndarray:
    """(3,): the theme's mean colour minus `generator`'s mean colour on the rooms."""
    rooms = _room_inputs(params)
    painted = np.mean([generator(rooms[i:i + batch], training=False).numpy().mean(axis=(0, 1, 2))
                       for i in range(0, len(rooms), batch)], axis=0)  # equal batches: the mean of means
    return (theme_mean(dataset, params, cache_dir) - painted).astype(np.float32)


def shifted(generator, offset) -> keras.Model:
    """`generator` with ColourShift(offset) after it; the same variables, so it exports alike."""
    return keras.Model(generator.input, ColourShift(offset, name="grade")(generator.output), name=generator.name)


def grade_fields(grade: str, offset: list[float] | None) -> dict:
    """What meta.json's `architecture` says of a model's grade."""
    return {"grade": grade, **({"colour_offset": offset} if offset else {})}


def graded(generator, config, params) -> tuple[keras.Model, list[float] | None]:
    """(the generator to use, its offset): config.grade applied (none: the generator itself, None)."""
    if config.grade == "none":
        return generator, None
    offset = [round(float(v), 4) for v in fit_offset(generator, config.dataset, params, Path(config.cache_dir))]
    return shifted(generator, offset), offset  # the graph's offset is the one meta.json records
