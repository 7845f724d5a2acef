"""Image-folder datasets: the cache, and a one-line error naming the file for each bad input."""

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from builder.training.data import cache_side, load_folder
from builder.errors import DataError

SIZE = 64


def photo(seed: int, w: int = 160, h: int = 120) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8), "RGB")


def good_folder(path, count=10):
    (path / "nested").mkdir(parents=True)
    for i in range(count):
        folder = path / "nested" if i % 2 else path
        photo(i).save(folder / f"img{i}.{['jpg', 'png', 'webp'][i % 3]}")
    return path


def load(path, **kw):
    return load_folder(path, size=SIZE, cache_dir=path.parent / "cache", val_pairs=2, min_images=kw.get("min_images", 4))


def test_folder_is_read_recursively_and_pre_resized(tmp_path):
    ds = load(good_folder(tmp_path / "data"))
    assert len(ds.train) + len(ds.val) == 10 and len(ds.val) >= 1
    assert all(min(im.shape[:2]) == cache_side(SIZE) and im.shape[2] == 3 for im in ds.train)
    cached = list((tmp_path / "cache").glob("*.png"))
    assert len(cached) == 10
    # A second load decodes nothing new: the cache is keyed by content.
    mtimes = {p: p.stat().st_mtime_ns for p in cached}
    load(tmp_path / "data")
    assert {p: p.stat().st_mtime_ns for p in cached} == mtimes


def _bad_files(folder):
    photo(100).save(folder / "cmyk.jpg")
    Image.open(folder / "cmyk.jpg").convert("CMYK").save(folder / "cmyk.jpg")
    photo(101).convert("L").save(folder / "gray.png")
    photo(102).convert("RGBA").save(folder / "alpha.png")
    Image.fromarray(np.full((120, 160), 40000, np.uint16)).save(folder / "deep16.png")
    photo(103, 40, 30).save(folder / "small.jpg")
    (folder / "corrupt.jpg").write_bytes(b"not really a jpeg")
    data = (folder / "img0.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 2])


def test_bad_files_are_skipped_and_each_named_with_its_fix(tmp_path):
    folder = good_folder(tmp_path / "data")
    _bad_files(folder)
    ds = load(folder)
    assert len(ds.train) + len(ds.val) == 10
    lines = "\n".join(ds.skipped)
    expected = {"cmyk.jpg": "convert it to RGB", "gray.png": "grayscale", "alpha.png": "alpha",
                "deep16.png": "16-bit", "small.jpg": "smaller than", "corrupt.jpg": "not an image",
                "truncated.jpg": "truncated"}
    for name, fix in expected.items():
        line = next((l for l in ds.skipped if name in l), None)
        assert line is not None, f"{name} not reported in:\n{lines}"
        assert fix in line and "\n" not in line


def test_folder_with_too_few_usable_images_is_refused(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    photo(1).save(folder / "one.jpg")
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8 nope")
    with pytest.raises(DataError, match=r"only 1 usable images of 2 .*corrupt\.jpg"):
        load(folder)


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "absent", "dataset folder not found"),
    (lambda p: (p / "empty").mkdir() or p / "empty", "no .jpg, .png or .webp images"),
])
def test_missing_or_empty_folder(tmp_path, make, message):
    with pytest.raises(DataError, match=message):
        load(make(tmp_path))


def test_cli_prints_one_line_error_for_unknown_theme_and_missing_folder(tmp_path):
    for dataset, words in [("volcano", "unknown theme 'volcano'"), (str(tmp_path / "nope"), "not found")]:
        done = subprocess.run([sys.executable, "-m", "builder", "train", "--dataset", dataset, "--steps", "1",
                               "--runs-dir", str(tmp_path / "runs")], capture_output=True, text=True)
        assert done.returncode == 2
        err = done.stderr.strip().splitlines()
        assert len(err) == 1 and words in err[0], done.stderr


def _one_colour_png(path, width: int, height: int) -> None:
    """A real RGB PNG of width x height, written a row at a time (a few MB, whatever its size)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    packer = zlib.compressobj(1)
    row = b"\0" + bytes((90, 140, 200)) * width  # filter type 0, then the pixels
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def test_an_image_over_pillows_pixel_limit_is_skipped_with_the_fix(tmp_path):
    folder = good_folder(tmp_path / "data")
    _one_colour_png(folder / "huge.png", 15000, 12000)  # over twice the limit: Pillow refuses to open it
    _one_colour_png(folder / "big.png", 9500, 9500)  # over the limit: Pillow warns of a decompression bomb
    ds = load(folder)
    assert len(ds.train) + len(ds.val) == 10
    for name in ("huge.png", "big.png"):
        line = next((l for l in ds.skipped if name in l), None)
        assert line is not None, ds.skipped
        assert "pixels" in line and "resize it" in line and "\n" not in line


def test_symlinked_sub_folders_are_followed_once(tmp_path):
    folder = good_folder(tmp_path / "data", count=6)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for i in range(4):
        photo(50 + i).save(elsewhere / f"far{i}.jpg")
    (folder / "linked").symlink_to(elsewhere, target_is_directory=True)
    (elsewhere / "loop").symlink_to(folder, target_is_directory=True)  # data/linked/loop -> data
    ds = load(folder)
    assert len(ds.train) + len(ds.val) == 10
    assert ds.skipped == []


def test_a_themes_cache_key_follows_its_own_source_only(monkeypatch):
    """Editing one theme re-renders that theme; adding or editing another re-renders nothing."""
    from pathlib import Path

    from builder.training import data

    before = {t: data._theme_version(t) for t in ("nebula", "clouds")}
    read = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda p: read(p) + (b"# edited" if p.name == "clouds.py" else b""))
    assert data._theme_version("clouds") != before["clouds"], "an edited theme would reuse stale images"
    assert data._theme_version("nebula") == before["nebula"], "editing clouds.py would re-render the nebula"
