"""Pictures for people: real PNGs in tmp_path, their sizes and contents, tolerant log reading."""

import json

import numpy as np
import pytest
from PIL import Image

from builder.training import plots
from builder.errors import DataError

TILE = 32
GAP = 4  # plots' gap between cells


def rows_of(count: int, *, grey_input_shape=(TILE, TILE, 1)):
    """(input, output, target) rows: input black, output mid-grey, target white."""
    black = np.full(grey_input_shape, -1.0, np.float32)
    grey, white = np.zeros((TILE, TILE, 3), np.float32), np.ones((TILE, TILE, 3), np.float32)
    return [(black, grey, white) for _ in range(count)]


def write_log(path, entries, tail=""):
    path.write_text("".join(json.dumps(e) + "\n" for e in entries) + tail)


def no_temporaries_left(folder):
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")] == []


def test_sample_grid_lays_out_rows_and_columns(tmp_path):
    out = tmp_path / "samples.png"
    plots.sample_grid(rows_of(3), out, titles=None)
    image = np.asarray(Image.open(out))
    assert image.shape == (3 * (TILE + GAP) + GAP, 3 * (TILE + GAP) + GAP, 3)
    centre = GAP + TILE // 2
    second_row = GAP + (TILE + GAP) + TILE // 2
    assert tuple(image[second_row, centre]) == (0, 0, 0)  # input -1 -> black
    assert tuple(image[second_row, centre + TILE + GAP]) in {(127, 127, 127), (128, 128, 128)}
    assert tuple(image[second_row, centre + 2 * (TILE + GAP)]) == (255, 255, 255)
    assert no_temporaries_left(tmp_path)


def test_sample_grid_titles_add_a_header_and_inputs_may_be_2d(tmp_path):
    out = tmp_path / "samples.png"
    plots.sample_grid(rows_of(2, grey_input_shape=(TILE, TILE)), out)
    width, height = Image.open(out).size
    assert width == 3 * (TILE + GAP) + GAP
    assert height > 2 * (TILE + GAP) + GAP  # room for "input", "output", "target"


def test_sample_grid_replaces_an_existing_picture(tmp_path):
    out = tmp_path / "nested" / "samples.png"
    plots.sample_grid(rows_of(1), out)
    first = out.read_bytes()
    plots.sample_grid(rows_of(2), out)
    assert out.read_bytes() != first
    assert no_temporaries_left(out.parent)


def test_side_by_side_writes_two_columns(tmp_path):
    out = tmp_path / "evidence.png"
    rng = np.random.default_rng(0)
    pairs = [(rng.uniform(-1, 1, (TILE, TILE, 1)), rng.uniform(-1, 1, (TILE, TILE, 3))) for _ in range(4)]
    plots.side_by_side(pairs, out, labels=None)
    assert Image.open(out).size == (2 * (TILE + GAP) + GAP, 4 * (TILE + GAP) + GAP)


def test_a_wrongly_shaped_image_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        plots.side_by_side([(np.zeros((TILE, TILE, 2)), np.zeros((TILE, TILE, 3)))], tmp_path / "x.png")
    assert list(tmp_path.iterdir()) == []


def test_loss_curves_tolerate_missing_keys_and_a_truncated_last_line(tmp_path):
    log = tmp_path / "log.jsonl"
    entries = []
    for step in range(0, 500, 10):
        entry = {"step": step, "g_gan": 0.7 + 0.01 * (step % 7), "g_l1": 0.3 - step / 5000}
        if step % 20 == 0:
            entry["d"] = 1.2  # logged on every other line only
        if step % 100 == 0:
            entry["val_l1"] = 0.32 - step / 5000
        entries.append(entry)
    write_log(log, entries, tail='{"step": 500, "g_gan": 0.')  # training was writing this line
    out = tmp_path / "loss.png"
    plots.loss_curves(log, out)
    assert Image.open(out).size == (1260, 300)  # three panels: g_gan, g_l1 (+ val_l1), d
    assert no_temporaries_left(tmp_path)


def test_loss_curves_skip_a_garbled_line_inside_the_log(tmp_path):
    # A crash truncates a line; a resumed run appends after it, so the bad line is in the middle.
    log = tmp_path / "log.jsonl"
    log.write_text('{"step": 0, "g_l1": 0.5}\n{"step": 10, "g_l\n{"step": 20, "g_l1": 0.4}\n[1, 2]\n')
    out = tmp_path / "loss.png"
    plots.loss_curves(log, out)
    assert Image.open(out).size == (420, 300)  # one panel


def test_loss_curves_of_an_empty_log_still_draw(tmp_path):
    log = tmp_path / "log.jsonl"
    log.write_text("")
    plots.loss_curves(log, tmp_path / "loss.png")
    assert Image.open(tmp_path / "loss.png").format == "PNG"


def test_loss_curves_without_a_log_name_it(tmp_path):
    with pytest.raises(DataError, match="log.jsonl"):
        plots.loss_curves(tmp_path / "log.jsonl", tmp_path / "loss.png")
    assert not (tmp_path / "loss.png").exists()


def test_theme_sheet_has_a_row_per_theme(tmp_path):
    from builder.training.themes import THEMES

    out = tmp_path / "themes.png"
    plots.theme_sheet(out, seeds=(0, 1), size=32)
    width, height = Image.open(out).size
    assert height == len(THEMES) * (32 + GAP) + GAP
    assert width > 2 * (32 + GAP) + GAP  # theme names on the left
