"""What the scorecard feeds a generator, and what it compares the outputs with.

- Photographs: real ones that ship inside scikit-image (no download), several square crops of
  each at a few scales, as a camera would frame them, put through the input transform exactly
  as the browser does (centre crop of the crop, no random jitter).
- Pans: a photograph seen through a window that slides `PAN_SHIFT` px a frame, at full
  resolution, for "moves with the scene".
- References: the model's own theme, held out from training (built-in themes: fresh renders at
  seeds training never uses; folder datasets: the folder's held-out images), made into targets
  by the same crop as training, and the anchors' other themes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

# Everyday scenes, bright and dark, textured and plain; none is a nebula or a sea.
EVAL_PHOTOS = ("astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg", "motorcycle_left.png",
               "camera.png", "coins.png", "color.png", "clock_motion.png", "brick.png")
CROPS = ((1.0, 0.5, 0.5), (0.7, 0.35, 0.4), (0.5, 0.7, 0.6))  # (side as a fraction of the short side, centre y, x)
PAN_PHOTOS = ("astronaut.png", "coffee.png", "motorcycle_left.png", "chelsea.png")
PAN_FRAMES, PAN_SHIFT = 5, 6


def skimage_photo(name: str) -> np.ndarray:
    """(H, W, 3) uint8 from the file inside the installed scikit-image package."""
    import skimage

    path = Path(skimage.__file__).parent / "data" / name
    return np.asarray(Image.open(path).convert("RGB"))


def square_crop(photo: np.ndarray, side_fraction: float, cy: float, cx: float) -> np.ndarray:
    h, w = photo.shape[:2]
    side = int(round(min(h, w) * side_fraction))
    top = int(np.clip(round(cy * h - side / 2), 0, h - side))
    left = int(np.clip(round(cx * w - side / 2), 0, w - side))
    return photo[top:top + side, left:left + side]


def builtin_photos() -> dict[str, np.ndarray]:
    """name -> (H, W, 3) uint8: the scorecard's own photographs (EVAL_PHOTOS)."""
    return {Path(name).stem: skimage_photo(name) for name in EVAL_PHOTOS}


def folder_photos(folder: Path, size: int) -> dict[str, np.ndarray]:
    """name -> (H, W, 3) uint8: every photograph in a folder of one's own (`evaluate --photos`), to
    check a model on pictures its scorecard never saw. Colour or grey, each at least `size` px."""
    from builder.errors import DataError
    from builder.training.data import find_images

    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder of photographs; pass --photos a folder of jpg/png/webp images")
    photos = {}
    for path in find_images(folder):
        try:
            image = Image.open(path)
            image.load()
        except OSError as e:
            raise DataError(f"{path}: not a readable image ({e}); remove it from {folder} or re-save it") from e
        if min(image.size) < size:
            raise DataError(f"{path}: {image.size[0]}x{image.size[1]} is smaller than the model's {size}px "
                            f"input; use photographs at least {size}px on their short side")
        photos[str(path.relative_to(folder).with_suffix(""))] = np.asarray(image.convert("RGB"))
    if not photos:
        raise DataError(f"{folder}: no .jpg, .png or .webp photographs found; add some")
    return photos


def photo_crops(photos: dict[str, np.ndarray], crops=CROPS) -> tuple[list[str], list[np.ndarray]]:
    labels, images = [], []
    for name, photo in photos.items():
        for side, cy, cx in crops:
            labels.append(f"{name}@{side:g}")
            images.append(square_crop(photo, side, cy, cx))
    return labels, images


def scene_photos(folder: Path | None, size: int) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
    """The photographs a scorecard shows a generator, and those its pans slide over: the built-in
    set (folder None), or a folder's photographs and the first few of them."""
    if folder is None:
        return builtin_photos(), [skimage_photo(name) for name in PAN_PHOTOS]
    photos = folder_photos(folder, size)
    return photos, list(photos.values())[:len(PAN_PHOTOS)]


def camera_inputs(images: list[np.ndarray], params) -> np.ndarray:
    """(n, S, S, 1) in [-1, 1]: each image as the browser makes it from a camera frame."""
    from builder.training.transform import photo_input

    return np.stack([photo_input(image, params) for image in images])


def pan_clip(photo: np.ndarray, size: int, frames: int = PAN_FRAMES, shift: int = PAN_SHIFT) -> np.ndarray:
    """(frames, size, size, 3) uint8: a size-px window sliding `shift` px right a frame over the
    photograph scaled so that its short side is 1.25 x size (scene pixels = screen pixels)."""
    h, w = photo.shape[:2]
    scale = max(1.25 * size / min(h, w), (size + shift * frames) / w)  # and wide enough for the pan
    scaled = np.asarray(Image.fromarray(photo).resize((round(w * scale), round(h * scale)), Image.LANCZOS))
    top = (scaled.shape[0] - size) // 2
    left = max(0, (scaled.shape[1] - size - shift * (frames - 1)) // 2)
    return np.stack([scaled[top:top + size, left + t * shift:left + t * shift + size] for t in range(frames)])


def theme_references(theme: str, params, count: int, first_seed: int, cache_dir: Path) -> np.ndarray:
    """(count, S, S, 3) in [-1, 1]: renders of a built-in theme at seeds training never uses,
    cropped as training does (cached on disk like training's renders)."""
    from builder.training.data import cache_side, theme_images

    seeds = [first_seed + i for i in range(count)]
    return targets(theme_images(theme, seeds, cache_side(params.size), cache_dir), params)


def targets(images: list[np.ndarray], params) -> np.ndarray:
    """Training's own target crop (make_pair, fixed seeds, no flips): (n, S, S, 3) in [-1, 1]."""
    import dataclasses

    from builder.tfenv import tensorflow
    from builder.training.transform import make_pair

    tf = tensorflow()
    still = dataclasses.replace(params, flip_horizontal=False, flip_vertical=False)
    return np.stack([make_pair(image, tf.constant([11, i], tf.int64), still)[1].numpy()
                     for i, image in enumerate(images)])
