"""Procedural rooms (scenes.py): the unpaired loss's inputs that look, at the soft input's 24 px,
like what a visitor's camera sees."""

import numpy as np
import pytest

from builder import config as cfg
from builder.errors import ConfigError
from builder.training import scenes, themes
from builder.training.data import unpaired_images
from builder.training.evaluate.inputs import builtin_photos, photo_crops
from builder.training.transform import TransformParams, low_levels


def test_a_room_is_drawn_from_its_seed_alone():
    a, again, other = scenes.render(3, 96), scenes.render(3, 96), scenes.render(4, 96)
    assert a.shape == (96, 96, 3) and a.dtype == np.uint8
    assert np.array_equal(a, again) and not np.array_equal(a, other)


def test_rooms_reach_the_model_at_a_photographs_light_and_contrast_where_no_theme_does():
    """The median mean and deviation of the 11x11 low-resolution luma (what the soft input keeps):
    the scorecard's photographs sit between the themes (README: 0.44 / 0.15); the rooms must sit
    nearer them than any theme's pictures do, or they teach nothing the themes did not."""
    params = TransformParams.from_config(cfg.TrainConfig())
    median = lambda images: np.median([low_levels(image, params) for image in images], axis=0)
    photos = median(photo_crops(builtin_photos())[1])
    rooms = median([scenes.render(seed, 256) for seed in range(40)])
    nearest_theme = min(np.hypot(*(median([themes.render(t, s, 256) for s in range(8)]) - photos))
                        for t in themes.THEMES)
    assert np.hypot(*(rooms - photos)) < 0.6 * nearest_theme, (rooms, photos, nearest_theme)


@pytest.mark.parametrize("inputs, rooms", [("themes", 0), ("scenes", 12), ("both", 6)])
def test_the_unpaired_inputs_come_from_the_themes_the_rooms_or_half_of_each(tmp_path, inputs, rooms):
    config = cfg.TrainConfig(dataset="clouds", size=32, depth=3, theme_images=12, unpaired_weight=1.0,
                             unpaired_inputs=inputs, cache_dir=str(tmp_path))
    images = unpaired_images(config)
    drawn = [scenes.render(seed, images[0].shape[0]) for seed in range(rooms)]
    assert len(images) == 12
    assert all(np.array_equal(a, b) for a, b in zip(images[len(images) - rooms:], drawn))


def test_rooms_without_the_unpaired_loss_are_refused():
    with pytest.raises(ConfigError, match="field 'unpaired_inputs'") as raised:
        cfg.from_mapping(cfg.TrainConfig, {"unpaired_inputs": "scenes"}, "command line")
    assert "needs unpaired_weight above 0" in str(raised.value)
