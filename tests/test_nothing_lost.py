"""Nothing lost to a full disk or a Ctrl-C (issue #17).

Each fault is planted where it strikes (TensorFlow's checkpoint writers, the image writer, the
converter's measurement), under the CLI's own entry point: the answer is one line, the exit status
2 (an error) or 130 (Ctrl-C), nothing half-written is left to be picked up, and the next run picks
up from what is whole. One test fills a real (tiny, private) tmpfs where the sandbox allows it.
"""

import dataclasses
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from builder.__main__ import main
from builder.training.runs import Run

ROOT = Path(__file__).resolve().parent.parent
TINY = ["--name", "t", "--dataset", "nebula", "--size", "32", "--depth", "3", "--base-filters", "4",
        "--max-filters", "8", "--batch-size", "2", "--steps", "6", "--checkpoint-every", "3",
        "--sample-every", "3", "--log-every", "1", "--val-every", "3", "--val-pairs", "2", "--theme-images", "6"]


def cli(capfd, *argv) -> tuple[int, str]:
    """(exit status, stderr) of `python -m builder ARGV`, run in this process (so faults can be
    planted); capfd also catches what worker processes print."""
    capfd.readouterr()
    try:
        status = main([str(a) for a in argv])
    except KeyboardInterrupt:  # pytest would take it for the user's own Ctrl-C and stop the session
        pytest.fail(f"Ctrl-C escaped `python -m builder {argv[0]}` as a traceback")
    return status, capfd.readouterr().err


def last_line(err: str) -> str:
    """The line the command ended with (progress bars draw above it with carriage returns)."""
    assert "Traceback" not in err, err[-3000:]
    return err.strip().splitlines()[-1]


def dirs(tmp_path: Path) -> list[str]:
    return ["--runs-dir", tmp_path / "runs", "--models-dir", tmp_path / "models", "--cache-dir", tmp_path / "cache"]


def whole_files(folder: Path) -> list[Path]:
    """Every file under `folder`, after checking none is a leftover temporary (a hidden name) and every
    image decodes to its end."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    assert not [p for p in files if p.name.startswith(".")], files
    for p in files:
        if p.suffix == ".png":
            Image.open(p).load()  # a truncated PNG raises here
    return files


# -- 1. a full disk while a checkpoint is written ----------------------------------------------------

def _full(path, op: str) -> Exception:
    from builder.tfenv import tensorflow

    # What TensorFlow raises for ENOSPC, worded as it words it.
    return tensorflow().errors.ResourceExhaustedError(
        None, None, f"{{{{function_node __wrapped__{op}_device_/job:localhost/replica:0/task:0/device:CPU:0}}}} "
        f"{path}; No space left on device [Op:{op}]")


def plant_full_disk(monkeypatch, where: str, step: int) -> None:
    """Make the checkpoint of `step` hit a full disk at one of the three writes TensorFlow makes."""
    from tensorflow.python.lib.io import file_io
    from tensorflow.python.ops import gen_io_ops, io_ops

    name = f"ckpt-{step}"
    text = lambda t: t.numpy().decode() if hasattr(t, "numpy") else str(t)  # noqa: E731
    if where == "data":  # the tensors, into ckpt-N_temp/: a part of the data file is written, then no more
        save = io_ops.save_v2

        def faulty(prefix, *args, **kw):
            if f"{name}_temp" not in text(prefix):
                return save(prefix, *args, **kw)
            Path(text(prefix)).parent.mkdir(exist_ok=True)
            Path(text(prefix) + ".data-00000-of-00001").write_bytes(b"\0" * 1000)
            raise _full(text(prefix) + ".data-00000-of-00001", "SaveV2")

        monkeypatch.setattr(io_ops, "save_v2", faulty)
    elif where == "index":  # the merge: data renamed to ckpt-N.data-*, ckpt-N.index cut at a page (what a
        merge = gen_io_ops.merge_v2_checkpoints  # real tmpfs did: test_a_real_full_disk below)

        def faulty(prefixes, destination, *args, **kw):
            merge(prefixes, destination, *args, **kw)
            if text(destination).endswith(name):
                index = Path(text(destination) + ".index")
                index.write_bytes(index.read_bytes()[:4096])
                raise _full(index, "MergeV2Checkpoints")

        monkeypatch.setattr(gen_io_ops, "merge_v2_checkpoints", faulty)
    else:  # the `checkpoint` state file --resume reads, after the files: its temporary cut short
        write = file_io.atomic_write_string_to_file

        def faulty(filename, contents, *args, **kw):
            if not (Path(filename).name == "checkpoint" and f'"{name}"' in contents):
                return write(filename, contents, *args, **kw)
            Path(f"{filename}.tmp{'0' * 32}").write_text(contents[:10])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(file_io, "atomic_write_string_to_file", faulty)


@pytest.mark.parametrize("where", ["data", "index", "state"])
def test_a_full_disk_during_a_checkpoint_is_one_line_and_the_last_good_one_is_resumed_and_exported(
        tmp_path, capfd, monkeypatch, where):
    from builder.tfenv import tensorflow

    run = Run(tmp_path / "runs" / "t")
    with monkeypatch.context() as m:
        plant_full_disk(m, where, step=6)
        status, err = cli(capfd, "train", *TINY, *dirs(tmp_path), "--no-export")
    line = last_line(err)
    assert status == 2, err[-3000:]
    for words in (f"error: {run.dir}: no space left on the disk while saving the checkpoint of step 6",
                  "the last good checkpoint, step 3, is kept", "free some space", "--runs-dir",
                  "then continue with `--resume --name t`"):
        assert words in line, line

    # Nothing of step 6 is left, for export (the newest .index) or --resume (the `checkpoint` file).
    assert sorted(p.name for p in run.ckpt_dir.iterdir()) == [
        "checkpoint", "ckpt-3.data-00000-of-00001", "ckpt-3.index"]
    assert tensorflow().train.latest_checkpoint(str(run.ckpt_dir)) == str(run.ckpt_dir / "ckpt-3")
    if where != "index":  # the same files are left in all three; export and resume read them once
        return

    status, err = cli(capfd, "export", "--name", "t", "--runs-dir", tmp_path / "runs")
    assert status == 0, err[-3000:]
    assert json.loads((tmp_path / "models" / "t" / "meta.json").read_text())["steps"] == 3

    status, err = cli(capfd, "train", "--resume", "--name", "t", "--runs-dir", tmp_path / "runs", "--no-export")
    assert status == 0, err[-3000:]
    assert run.checkpoint_steps() == [3, 6]
    assert [json.loads(line)["step"] for line in run.log_path.read_text().splitlines()] == [1, 2, 3, 4, 5, 6]


def test_a_checkpoint_cut_short_by_a_killed_process_is_not_taken_for_the_newest(tmp_path, capfd):
    """A kill during the merge leaves what the full disk left, and no one to clean it up."""
    run = Run(tmp_path / "runs" / "t")
    assert cli(capfd, "train", *TINY, "--steps", "3", *dirs(tmp_path), "--no-export")[0] == 0
    (run.ckpt_dir / "ckpt-6.data-00000-of-00001").write_bytes((run.ckpt_dir / "ckpt-3.data-00000-of-00001")
                                                              .read_bytes())
    (run.ckpt_dir / "ckpt-6.index").write_bytes((run.ckpt_dir / "ckpt-3.index").read_bytes()[:4096])
    assert run.checkpoint_steps() == [3]
    status, err = cli(capfd, "export", "--name", "t", "--runs-dir", tmp_path / "runs")
    assert status == 0, err[-3000:]
    assert json.loads((tmp_path / "models" / "t" / "meta.json").read_text())["steps"] == 3


def _can_mount_tmpfs() -> bool:
    try:
        return subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
                              capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


# Fills the tmpfs at the second checkpoint, leaving the pages for TensorFlow's temporary data and
# index and one more: the merged index is cut at 4 KiB, as with a real disk that fills up then.
FILL_AND_TRAIN = """
import math, os, shutil, sys
from pathlib import Path
import tensorflow as tf
from builder.__main__ import main

runs, copy = Path(sys.argv[1]), Path(sys.argv[2])
filler = runs / "filler"
save = tf.train.CheckpointManager.save

def fill_then_save(self, checkpoint_number=None, **kw):
    if checkpoint_number == 6:
        room = 1 + sum(math.ceil(p.stat().st_size / 4096) for p in Path(self.directory).glob("ckpt-3.*"))
        with open(filler, "wb", buffering=0) as f:
            try:
                while True:
                    f.write(bytes(65536))
            except OSError:
                pass
        os.truncate(filler, max(0, filler.stat().st_size - room * 4096))
        try:
            return save(self, checkpoint_number=checkpoint_number, **kw)
        except Exception as e:  # where the disk ran out, for the test to check
            copy.mkdir(parents=True)
            (copy / "fault.txt").write_text(str(e))
            raise
    return save(self, checkpoint_number=checkpoint_number, **kw)

tf.train.CheckpointManager.save = fill_then_save
status = main(sys.argv[3:])
filler.unlink()
shutil.copytree(runs / "t", copy / "t")
sys.exit(status)
"""


@pytest.mark.skipif(not _can_mount_tmpfs(), reason="no private tmpfs here (needs `unshare -rm` and mount)")
def test_a_real_full_disk_during_a_checkpoint(tmp_path, capfd):
    runs, copy = tmp_path / "runs", tmp_path / "copy"
    runs.mkdir()
    script = tmp_path / "fill_and_train.py"
    script.write_text(FILL_AND_TRAIN)
    args = [*TINY, "--runs-dir", runs, "--models-dir", tmp_path / "models", "--cache-dir", tmp_path / "cache",
            "--no-export"]
    shell = (f"mount -t tmpfs -o size=4m tmpfs {runs} && exec {sys.executable} {script} {runs} {copy} train "
             + " ".join(map(str, args)))
    done = subprocess.run(["unshare", "-rm", "sh", "-c", shell], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=600)
    line = last_line(done.stderr)
    assert done.returncode == 2, done.stderr[-3000:]
    fault = (copy / "fault.txt").read_text()
    assert "No space left on device" in fault and "MergeV2Checkpoints" in fault, fault  # the .index was cut
    assert f"error: {runs / 't'}: no space left on the disk while saving the checkpoint of step 6" in line, line
    assert "the last good checkpoint, step 3, is kept" in line, line
    run = Run(copy / "t")
    assert not list(run.ckpt_dir.glob("ckpt-6*")), sorted(run.ckpt_dir.iterdir())
    assert run.checkpoint_steps() == [3]
    status, err = cli(capfd, "export", "--name", "t", "--runs-dir", copy, "--models-dir", tmp_path / "models")
    assert status == 0, err[-3000:]


def test_a_full_disk_while_exporting_is_one_line_and_leaves_no_half_model(tmp_path, capfd, monkeypatch):
    assert cli(capfd, "train", *TINY, "--steps", "3", *dirs(tmp_path), "--no-export")[0] == 0

    def full(self, fp, *args, **kw):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # a write() fails: no file name

    with monkeypatch.context() as m:
        m.setattr(Image.Image, "save", full)
        status, err = cli(capfd, "export", "--name", "t", "--runs-dir", tmp_path / "runs")
    assert status == 2
    assert last_line(err) == "error: no space left on the disk; free some space and run it again"
    assert not (tmp_path / "models").exists() or not list((tmp_path / "models").iterdir())


# -- 2. Ctrl-C while the dataset is prepared ----------------------------------------------------------

def _photos(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True)
    for i in range(count):
        pixels = np.random.default_rng(i).integers(0, 255, (90, 120, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"photo{i}.png")
    return folder


def plant_ctrl_c_mid_write(monkeypatch, cache: Path, once: Path) -> None:
    """The first image written into `cache` (by whichever worker) gets half its bytes, then Ctrl-C."""
    save = Image.Image.save

    def half_then_ctrl_c(self, fp, *args, **kw):
        save(self, fp, *args, **kw)
        if Path(fp).parent != cache:
            return
        try:
            os.close(os.open(once, os.O_CREAT | os.O_EXCL))  # once, across the worker processes
        except FileExistsError:
            return
        Path(fp).write_bytes(Path(fp).read_bytes()[:200])
        raise KeyboardInterrupt

    monkeypatch.setattr(Image.Image, "save", half_then_ctrl_c)


@pytest.mark.parametrize("kind", ["theme", "folder"])
def test_ctrl_c_while_preparing_the_dataset_is_one_line_and_keeps_no_half_image(tmp_path, capfd, monkeypatch,
                                                                                 kind):
    from builder import config as cfg
    from builder.training.data import load_dataset

    dataset = "nebula" if kind == "theme" else _photos(tmp_path / "photos", 10)
    cache = tmp_path / "cache"
    with monkeypatch.context() as m:
        plant_ctrl_c_mid_write(m, cache, tmp_path / "fired")
        status, err = cli(capfd, "train", *TINY, "--dataset", dataset, *dirs(tmp_path))
    assert (tmp_path / "fired").exists(), "the fault was not reached"
    doing = "rendering the nebula theme" if kind == "theme" else f"preparing the images of {dataset}"
    assert last_line(err) == f"interrupted while {doing} into {cache}; nothing half-written was kept: run it again"
    assert status == 130
    assert not (tmp_path / "runs" / "t").exists()
    whole_files(cache)

    # The next run reads back exactly what a run into an empty cache makes.
    config = cfg.TrainConfig(dataset=str(dataset), size=32, val_pairs=2, theme_images=6, cache_dir=str(cache))
    again = load_dataset(config)
    fresh = load_dataset(dataclasses.replace(config, cache_dir=str(tmp_path / "fresh")))
    for a, b in zip(again.train + again.val, fresh.train + fresh.val, strict=True):
        assert np.array_equal(a, b)
    assert {p.name: p.read_bytes() for p in whole_files(cache)} == {
        p.name: p.read_bytes() for p in whole_files(tmp_path / "fresh")}


def test_a_real_ctrl_c_while_rendering_stops_the_workers_quietly(tmp_path):
    """SIGINT to the whole process group, as a terminal sends it: parent and workers alike, while
    the workers render (enough images that a quiet machine is still rendering when it arrives)."""
    cache = tmp_path / "cache"
    cmd = [sys.executable, "-m", "builder", "train", *TINY, "--size", "256", "--theme-images", "40",
           *map(str, dirs(tmp_path))]
    # SIGINT restored to its default: a suite started in the background (`cmd &`) inherits it ignored,
    # and Python would then never raise KeyboardInterrupt.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None and not list(cache.glob("theme-*.png")):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=300)
    assert last_line(err) == f"interrupted while rendering the nebula theme into {cache}; nothing half-written " \
                             f"was kept: run it again"
    assert proc.returncode == 130
    whole_files(cache)


def test_a_full_disk_while_preparing_the_dataset_names_the_cache(tmp_path, capfd, monkeypatch):
    def full(self, fp, *args, **kw):
        Path(fp).write_bytes(b"\x89PNG")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    photos = _photos(tmp_path / "photos", 3)  # under 4 files: prepared in this process
    with monkeypatch.context() as m:
        m.setattr(Image.Image, "save", full)
        status, err = cli(capfd, "train", *TINY, "--dataset", photos, *dirs(tmp_path))
    assert status == 2
    assert last_line(err) == (f"error: {tmp_path / 'cache'}: no space left on the disk while preparing the images "
                              f"of {photos}; free some space or pass another --cache-dir")
    assert whole_files(tmp_path / "cache") == []


# -- 3. Ctrl-C while a model is converted, or the site written ----------------------------------------

def tree(root: Path) -> dict:
    """Every file's bytes by path; a JSON file parsed (the converter does not keep its key order)."""
    return {p.relative_to(root).as_posix(): json.loads(p.read_text()) if p.suffix == ".json" else p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_ctrl_c_while_converting_or_writing_the_site_keeps_no_half_conversion(tmp_path, capfd, monkeypatch):
    from builder.site import build, convert
    from builder.training.tiny import tiny_model

    models = tmp_path / "models"
    tiny_model(models, name="tiny", size=64)
    site, cache, config = tmp_path / "site", tmp_path / "convert", tmp_path / "site.toml"
    config.write_text("")  # the defaults, not the repository's site.toml

    def build_cli(site: Path, cache: Path):
        return cli(capfd, "build", "--config", config, "--models-dir", models, "--out-dir", site,
                   "--cache-dir", cache, "--quantization", "float16")

    def ctrl_c(*args, **kw):  # tf.js is measuring the converted model: the slow part
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(convert, "run_in_tfjs", ctrl_c)
        status, err = build_cli(site, cache)
    assert last_line(err).startswith(f"interrupted while converting {models / 'tiny'} into {cache}/")
    assert last_line(err).endswith("; nothing half-written was kept: run it again")
    assert status == 130
    assert not site.exists() and (not cache.exists() or not list(cache.iterdir()))

    status, err = build_cli(site, cache)
    assert status == 0, err[-3000:]
    assert build_cli(tmp_path / "fresh-site", tmp_path / "fresh-convert")[0] == 0
    assert tree(cache) == tree(tmp_path / "fresh-convert")
    assert tree(site) == tree(tmp_path / "fresh-site")

    # Ctrl-C halfway through writing the site: the old one stays, whole, and nothing is left beside it.
    write = build.SiteFiles.write

    def half_then_ctrl_c(self, root):
        self.files = dict(list(self.files.items())[:len(self.files) // 2])
        write(self, root)
        raise KeyboardInterrupt

    before = tree(site)
    with monkeypatch.context() as m:
        m.setattr(build.SiteFiles, "write", half_then_ctrl_c)
        status, err = build_cli(site, cache)
    assert last_line(err) == f"interrupted while building {site} (it is as it was); nothing half-written was " \
                             f"kept: run it again"
    assert status == 130
    assert tree(site) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no .site.tmp-*
