"""Pictures people look at: sample grids, loss curves, evidence pairs, the theme sheet.

Images come in as float arrays in [-1, 1] (the model's range): inputs (H, W) or (H, W, 1),
outputs and targets (H, W, 3). Every PNG is written to a temporary file beside its path and
renamed over it, so a reader never sees half a picture.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from builder.atomic import new_file
from builder.errors import DataError

_GAP_PX = 4
_BACKGROUND = (24, 24, 24)
_TEXT = (230, 230, 230)
_LOSS_ORDER = ("g_gan", "g_l1", "d")
"""Keys plotted first, in this order; any other numeric key follows alphabetically."""


def sample_grid(
    rows: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
    path: Path,
    titles: Sequence[str] | None = ("input", "output", "target"),
) -> None:
    """Write a PNG with one row per (input, output, target); `titles` label the columns."""
    _write_grid([list(row) for row in rows], Path(path), titles)


def side_by_side(
    pairs: Sequence[tuple[np.ndarray, np.ndarray]],
    path: Path,
    labels: Sequence[str] | None = ("input", "output"),
) -> None:
    """Write a PNG with one row per (input, output) pair, for evidence pictures."""
    _write_grid([list(pair) for pair in pairs], Path(path), labels)


def theme_sheet(path: Path, *, seeds: Sequence[int] = (0, 1, 2, 3), size: int = 256) -> None:
    """Write a PNG of every built-in theme (one row each) at `seeds`, for the README."""
    from builder.training import themes

    tiles, names = [], []
    for name, info in themes.THEMES.items():
        tiles.append([themes.render(name, seed, size) for seed in seeds])
        names.append(info.title)
    _labelled_rows(tiles, names, size, Path(path))


def contact_sheet(rows: dict[str, Sequence[np.ndarray]], path: Path, *, tile_px: int = 128) -> None:
    """Write a PNG with one labelled row per entry (e.g. inputs, outputs, references), each image
    in [-1, 1] or uint8, shown at tile_px."""
    tiles = [[np.asarray(Image.fromarray(_to_uint8(image)).resize((tile_px, tile_px), Image.LANCZOS))
              for image in images] for images in rows.values()]
    # 256 colours: the sheet ships in every clone and on the site, and as RGB it weighs 700 KB.
    _labelled_rows(tiles, list(rows), tile_px, Path(path), palette=True)


def _labelled_rows(tiles: list[list[np.ndarray]], names: list[str], size: int, path: Path, *,
                   palette: bool = False) -> None:
    font = _font(max(14, size // 14))
    label_px = _text_width(font, names) + 2 * _GAP_PX
    sheet = _compose(tiles, column_titles=None, font=font, left_px=label_px)
    draw = ImageDraw.Draw(sheet)
    for i, name in enumerate(names):
        top = _GAP_PX + i * (size + _GAP_PX)
        draw.text((_GAP_PX, top + size // 2), name, fill=_TEXT, font=font, anchor="lm")
    _save_png(sheet.quantize(256, dither=Image.Dither.FLOYDSTEINBERG) if palette else sheet, path)


def loss_curves(log_path: Path, path: Path) -> None:
    """Plot every numeric key of a JSONL training log against "step" and write a PNG.

    Each line is an object such as {"step": 100, "g_gan": 0.7, "g_l1": 0.2, "d": 1.3}; keys
    may come and go. Losses are drawn faint as logged with a smoothed line on top; "val_l1"
    is drawn as markers on the "g_l1" panel, where it compares. Lines that do not parse
    (a truncated last line while training writes, or one left by a crash) are skipped.
    """
    from matplotlib.figure import Figure  # heavy: imported only when a plot is made

    log_path = Path(log_path)
    series = read_log(log_path)
    validation = series.pop("val_l1", None)
    keys = sorted(series, key=lambda k: (_LOSS_ORDER.index(k) if k in _LOSS_ORDER else len(_LOSS_ORDER), k))
    if validation is not None and "g_l1" not in series:
        keys.append("val_l1")
        series["val_l1"] = ([], [])

    columns = min(3, max(1, len(keys)))
    panel_rows = max(1, math.ceil(len(keys) / columns))
    figure = Figure(figsize=(4.2 * columns, 3.0 * panel_rows), dpi=100, layout="constrained")
    if not keys:
        axes = figure.add_subplot()
        axes.text(0.5, 0.5, f"no entries yet in {log_path.name}", ha="center", va="center")
        axes.set_axis_off()
    for i, key in enumerate(keys):
        axes = figure.add_subplot(panel_rows, columns, i + 1)
        steps, values = series[key]
        if steps:
            axes.plot(steps, values, color="tab:blue", alpha=0.25, linewidth=0.8)
            axes.plot(steps, _smooth(values), color="tab:blue", linewidth=1.6, label="train")
        if key in ("g_l1", "val_l1") and validation is not None:
            axes.plot(*validation, "o", color="tab:orange", markersize=4, label="validation")
            axes.legend(loc="upper right", fontsize="small")
        axes.set_title(key)
        axes.set_xlabel("step")
        axes.grid(alpha=0.3)
    with new_file(Path(path)) as temporary:
        figure.savefig(temporary, format="png")


# ---------------------------------------------------------------- helpers


def read_log(log_path: Path) -> dict[str, tuple[list[int], list[float]]]:
    """{key: (steps, values)} for every numeric key but "step", in the order of the log."""
    try:
        text = log_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        message = f"{log_path}: training log not found; train first, or pass a run's log.jsonl"
        raise DataError(message) from None
    series: dict[str, tuple[list[int], list[float]]] = {}
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # truncated or garbled: the plot is still worth drawing
        if not isinstance(entry, dict) or not isinstance(entry.get("step"), (int, float)):
            continue
        for key, value in entry.items():
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            if key == "step" or not numeric or not math.isfinite(value):
                continue
            steps, values = series.setdefault(key, ([], []))
            steps.append(entry["step"])
            values.append(float(value))
    return series


def _smooth(values: list[float]) -> np.ndarray:
    """Debiased exponential moving average (as TensorBoard draws), window ~ 1/20 of the run."""
    weight = 1.0 - 1.0 / max(1.0, len(values) / 20.0)
    out, average = np.empty(len(values)), 0.0
    for i, value in enumerate(values):
        average = weight * average + (1.0 - weight) * value
        out[i] = average / (1.0 - weight ** (i + 1)) if weight > 0.0 else value
    return out


def _write_grid(rows: list[list[np.ndarray]], path: Path, titles: Sequence[str] | None) -> None:
    if not rows:
        raise ValueError(f"no images to write to {path}")
    tiles = [[_to_uint8(image) for image in row] for row in rows]
    _save_png(_compose(tiles, column_titles=titles, font=_font(14)), path)


def _to_uint8(image: np.ndarray) -> np.ndarray:
    """(H, W), (H, W, 1) or (H, W, 3) in [-1, 1] (or already uint8) -> (H, W, 3) uint8."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[2] not in (1, 3):
        raise ValueError(f"expected an image of shape (H, W), (H, W, 1) or (H, W, 3), got {image.shape}")
    if image.dtype != np.uint8:
        image = (np.clip((image.astype(np.float32) + 1.0) * 127.5, 0.0, 255.0) + 0.5).astype(np.uint8)
    return np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image


def _compose(tiles: list[list[np.ndarray]], *, column_titles: Sequence[str] | None, font,
             left_px: int = 0) -> Image.Image:
    """Lay out rows of (H, W, 3) uint8 tiles on a dark sheet, centred in equal cells."""
    cell_h = max(tile.shape[0] for row in tiles for tile in row)
    cell_w = max(tile.shape[1] for row in tiles for tile in row)
    columns = max(len(row) for row in tiles)
    title_px = (_text_height(font) + 2 * _GAP_PX) if column_titles else 0
    width = left_px + columns * (cell_w + _GAP_PX) + _GAP_PX
    height = title_px + len(tiles) * (cell_h + _GAP_PX) + _GAP_PX
    sheet = Image.new("RGB", (width, height), _BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    for c, title in enumerate(list(column_titles or [])[:columns]):
        centre = left_px + _GAP_PX + c * (cell_w + _GAP_PX) + cell_w // 2
        draw.text((centre, _GAP_PX), title, fill=_TEXT, font=font, anchor="mt")
    for r, row in enumerate(tiles):
        for c, tile in enumerate(row):
            left = left_px + _GAP_PX + c * (cell_w + _GAP_PX) + (cell_w - tile.shape[1]) // 2
            top = title_px + _GAP_PX + r * (cell_h + _GAP_PX) + (cell_h - tile.shape[0]) // 2
            sheet.paste(Image.fromarray(tile), (left, top))
    return sheet


def _font(size_px: int):
    return ImageFont.load_default(size=size_px)


def _text_height(font) -> int:
    left, top, right, bottom = font.getbbox("Ag")
    return int(bottom)


def _text_width(font, texts: Sequence[str]) -> int:
    return max((int(font.getbbox(text)[2]) for text in texts), default=0)


def _save_png(image: Image.Image, path: Path) -> None:
    with new_file(path) as temporary:
        image.save(temporary, format="PNG", optimize=True)
