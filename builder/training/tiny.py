"""Tiny generators for tests and development: the real export path, untrained weights.

An untrained U-Net outputs a near-constant grey, which would hide a broken pipeline, so the
tiny model's last convolution also gets a strong, fixed path from the soft input to colour:
its output visibly follows the input, as a trained model's does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from builder import config as cfg


def tiny_model(out_root: Path, *, name: str = "tiny", size: int = 64, seed: int = 0,
               theme: str = "nebula", tint: tuple[float, float, float] = (2.0, 0.6, -1.2),
               levels: tuple[float, float] | None = None) -> Path:
    """Export an untrained tiny generator (with meta.json) to out_root/<name>; returns its path.
    `levels`: the input levels its meta.json names, as if it had trained with them."""
    from builder.tfenv import tensorflow

    tensorflow()
    import keras

    from builder.training.export import export_model
    from builder.training.model import build_generator
    from builder.training.transform import TransformParams

    config = cfg.TrainConfig(name=name, dataset=theme, size=size, base_filters=4, max_filters=8, depth=3,
                             seed=seed, models_dir=str(out_root), input_levels="theme" if levels else "none")
    keras.utils.set_random_seed(seed)
    generator = build_generator(**cfg.generator_options(config))
    out = generator.get_layer("out")
    features, gray, bias = (w.numpy() for w in out.weights)  # out joins the features and the soft input
    gray[1, 1, 0, :] += np.asarray(tint, np.float32)
    out.set_weights([features, gray, bias])
    from builder.training.themes import THEMES

    info = THEMES[theme]
    params = TransformParams.from_config(config, (info.flip_horizontal, info.flip_vertical), levels)
    return export_model(generator, config, params, None, steps=0, dataset_name=theme, out_root=Path(out_root))
