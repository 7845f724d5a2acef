"""Real photographs that ship inside an installed package (scikit-image's sample data), so the
builder's PSNR check, the evidence pictures and the tests have real inputs with no download."""

from __future__ import annotations

import numpy as np

# Everyday scenes with a mix of bright and dark regions, as a camera would see.
PHOTO_NAMES = ("astronaut", "coffee", "chelsea", "rocket")


def real_photos(names: tuple[str, ...] = PHOTO_NAMES) -> dict[str, np.ndarray]:
    """name -> (H, W, 3) uint8, loaded from files inside the skimage package."""
    import skimage.data

    return {name: np.asarray(getattr(skimage.data, name)())[..., :3] for name in names}


def photo_inputs(params, names: tuple[str, ...] = PHOTO_NAMES) -> tuple[list[str], np.ndarray]:
    """The photographs put through the input transform: names and (n, S, S, 1) in [-1, 1]."""
    from builder.training.transform import photo_input

    photos = real_photos(names)
    return list(photos), np.stack([photo_input(p, params) for p in photos.values()])
