"""python -m builder build: real conversions, real bundle, real files; failures leave site/ alone."""

import hashlib
import json
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import pytest

from builder.site.build import build_site
from builder.config import load_site_config
from builder.site.convert import check_inputs, psnr_db, reference_outputs, run_in_tfjs
from builder.training.tiny import tiny_model
from refusals import one_line_error

ROOT = Path(__file__).resolve().parent.parent
SHARD_BYTES = 1024  # small, so the tiny models (~3.4 kB at uint8) are split into several shards


def tree_digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A project folder with two tiny models and a site.toml, built once."""
    root = tmp_path_factory.mktemp("project")
    tiny_model(root / "models", name="ember", size=64, seed=1, theme="fire")
    tiny_model(root / "models", name="tiny", size=64, seed=0)
    (root / "site.toml").write_text(
        f'title = "Test site"\nmodels = ["tiny", "ember"]\nshard_bytes = {SHARD_BYTES}\n'
        f'models_dir = "{root / "models"}"\nout_dir = "{root / "site"}"\ncache_dir = "{root / "cache"}"\n')
    config = load_site_config(root / "site.toml")
    report = build_site(config, root / "site", progress=lambda _: None)
    return root, config, report


def cli_build(root: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "builder", "build", "--config", str(root / "site.toml"), *extra],
                          capture_output=True, text=True, cwd=ROOT)


def test_site_layout_with_hashed_assets(project):
    root, _, _ = project
    site = root / "site"
    names = [p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()]
    assert "index.html" in names
    # Scripts are named by esbuild from their content (their chunks import each other by name).
    for pattern in (r"assets/main-[0-9A-Z]{8}\.js", r"assets/worker-[0-9A-Z]{8}\.js", r"assets/chunk-[0-9A-Z]{8}\.js",
                    r"assets/style\.[0-9a-f]{10}\.css",
                    r"assets/tfjs-backend-wasm\.[0-9a-f]{10}\.wasm", r"assets/tfjs-backend-wasm-simd\.[0-9a-f]{10}\.wasm",
                    r"models/tiny/model\.[0-9a-f]{10}\.json", r"models/ember/model\.[0-9a-f]{10}\.json"):
        assert any(re.fullmatch(pattern, n) for n in names), pattern
    html = (site / "index.html").read_text()
    manifest = json.loads((site / "manifest.json").read_text())
    for path in manifest["assets"].values():
        assert (site / path).is_file()
    assert manifest["assets"]["main.js"] in html and manifest["assets"]["style.css"] in html
    config = json.loads(re.search(r'<script type="application/json" id="runtime-config">(.*?)</script>',
                                  html, re.S).group(1))
    assert config["workerUrl"] == manifest["assets"]["worker.js"]
    assert config["defaultModel"] == "tiny"
    assert [m["name"] for m in config["models"]] == ["tiny", "ember"]
    assert config["models"][0]["meta"]["transform"]["downscale"] == 24
    assert "http://" not in html and "https://cdn" not in html


def test_model_json_points_at_hashed_shards_within_the_size_limit(project):
    root, _, _ = project
    for model_json in (root / "site" / "models").glob("*/model.*.json"):
        model = json.loads(model_json.read_text())
        paths = [p for group in model["weightsManifest"] for p in group["paths"]]
        assert len(paths) > 1, "tiny shard size should split the weights"
        for p in paths:
            shard = model_json.parent / p
            assert re.fullmatch(r"group\d+-shard\d+of\d+\.[0-9a-f]{10}\.bin", p)
            assert shard.stat().st_size <= SHARD_BYTES


def test_converted_graph_uses_native_resize_and_no_slow_ops(project):
    """UpSampling2D would convert to Tile/Reshape (4x slower in tf.js wasm); transposed
    convolutions to Conv2DBackpropInput (3-4x slower, and checkerboards)."""
    root, _, _ = project
    model_json = next((root / "site" / "models" / "tiny").glob("model.*.json"))
    nodes = {node["name"]: node for node in json.loads(model_json.read_text())["modelTopology"]["node"]}
    ops = {node["op"] for node in nodes.values()}
    assert "ResizeBilinear" in ops and "Conv2D" in ops
    assert "MirrorPad" in ops  # reflect padding reaches tf.js as its own native kernel
    assert not ops & {"Tile", "Conv2DBackpropInput", "FusedBatchNormV3", "Reshape"}
    # Skip connections are joined by convolving each part (tf.js wasm copies concatenations
    # slowly), with whole kernels (no per-frame weight slicing). The only slices: the two numbers
    # of noise_shift, and the noise pattern it moved (gathered), given its batch axis.
    assert "ConcatV2" not in ops
    sources = [nodes[n["input"][0].split(":")[0]] for n in nodes.values() if n["op"] == "StridedSlice"]
    sliced = {source["name"] if source["op"] == "Placeholder" else source["op"] for source in sources}
    assert sliced <= {"noise_shift", "GatherV2"}, sliced
    # The output's tanh as 2 sigmoid(2z) - 1: tf.js wasm's Tanh is a scalar kernel, 14x slower.
    assert "Sigmoid" in ops and "Tanh" not in ops


def test_converted_graph_computes_nothing_on_its_weights(project):
    """No Cast or Neg of a stored weight: tf.js would make a new filter tensor every frame, and the
    wasm backend re-pack it for XNNPACK every frame."""
    root, _, _ = project
    model = json.loads(next((root / "site" / "models" / "tiny").glob("model.*.json")).read_text())
    nodes = {n["name"]: n for n in model["modelTopology"]["node"]}
    weights = {w["name"] for group in model["weightsManifest"] for w in group["weights"]}
    consts = weights | {name for name, n in nodes.items() if n["op"] == "Const"}
    on_weights = [n["name"] for n in nodes.values()
                  if n["op"] in ("Cast", "Neg") and n["input"][0].split(":")[0] in consts]
    assert on_weights == []
    assert "Neg" not in {n["op"] for n in nodes.values()}


def test_quantization_is_measured_and_reported(project):
    root, _, report = project
    table = json.loads((root / "site" / "quantization.json").read_text())
    for name in ("tiny", "ember"):
        q = table[name]
        assert q["tried"][0]["dtype"] == "uint8"
        assert q["psnr_db"] >= 40 and q["dtype"] == q["tried"][-1]["dtype"]
        assert q["bytes"] == sum((root / "site" / "models" / name / p).stat().st_size
                                 for p in _shards(root, name))
    assert "PSNR" in report.summary()
    html = (root / "site" / "index.html").read_text()
    rows = re.findall(r"<tr><td>(\w+)</td><td>(\w+)</td><td>([\d,]+) bytes</td><td>([\d.]+) dB</td>", html)
    assert {(dtype, int(size.replace(",", ""))) for _, dtype, size, _ in rows} >= {
        (t["dtype"], t["bytes"]) for q in table.values() for t in q["tried"]}


def _shards(root, name):
    model_json = next((root / "site" / "models" / name).glob("model.*.json"))
    return [p for g in json.loads(model_json.read_text())["weightsManifest"] for p in g["paths"]]


def test_site_model_in_tfjs_matches_keras_within_reported_psnr(project):
    """The deployed files themselves (hashed shards, rewritten model.json), run in real tf.js."""
    root, _, _ = project
    meta = json.loads((root / "models" / "tiny" / "meta.json").read_text())
    inputs = check_inputs(meta)
    keras_out = reference_outputs(root / "models" / "tiny" / "saved_model", inputs)
    model_json = next((root / "site" / "models" / "tiny").glob("model.*.json"))
    tfjs_out = run_in_tfjs(model_json, inputs)
    reported = json.loads((root / "site" / "quantization.json").read_text())["tiny"]["psnr_db"]
    assert tfjs_out.shape == keras_out.shape
    assert psnr_db(keras_out, tfjs_out) >= reported - 0.05
    assert np.std(tfjs_out) > 0.05  # a real image, not a constant


@pytest.mark.timed
def test_rebuild_with_nothing_changed_is_fast_and_byte_identical(project):
    root, _, _ = project
    before = tree_digest(root / "site")
    started = time.monotonic()
    done = cli_build(root)
    seconds = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert seconds <= 20, f"cached rebuild took {seconds:.1f} s"  # a loose floor: about 8 s on 2 quiet cores
    assert tree_digest(root / "site") == before


def test_forced_dtype_is_used(project, tmp_path):
    root, _, _ = project
    config = load_site_config(root / "site.toml", quantization="float16", models=("tiny",), out_dir=str(tmp_path / "s"))
    build_site(config, tmp_path / "s", progress=lambda _: None)
    q = json.loads((tmp_path / "s" / "quantization.json").read_text())["tiny"]
    assert q["dtype"] == "float16" and [t["dtype"] for t in q["tried"]] == ["float16"]


def test_broken_model_dir_missing_shard_and_bad_config_leave_site_untouched(project, tmp_path):
    root, config, _ = project
    before = tree_digest(root / "site")

    # A broken model directory.
    broken = tmp_path / "models"
    shutil.copytree(root / "models", broken)
    (broken / "tiny" / "saved_model" / "saved_model.pb").unlink()
    one_line_error(cli_build(root, "--models-dir", str(broken)), "saved_model.pb", "re-export")
    (broken / "ember" / "meta.json").write_text("{ not json")
    one_line_error(cli_build(root, "--models-dir", str(broken), "--models", "ember", "--default-model", "ember"),
                   "meta.json", "not valid JSON")

    # A missing shard in a cached conversion.
    cache = tmp_path / "cache"
    shutil.copytree(root / "cache", cache)
    for shard in cache.glob("*/model/group1-shard2of*.bin"):
        shard.unlink()
    one_line_error(cli_build(root, "--cache-dir", str(cache)), "shard missing")

    # Bad configs.
    one_line_error(cli_build(root, "--quantization", "int4"), "quantization", "uint8")
    one_line_error(cli_build(root, "--default-model", "nope"), "default_model")
    bad = tmp_path / "bad.toml"
    bad.write_text("title = \n")
    one_line_error(subprocess.run([sys.executable, "-m", "builder", "build", "--config", str(bad)],
                                  capture_output=True, text=True, cwd=ROOT), "bad.toml", "TOML")
    bad.write_text('colour = "red"\n')
    one_line_error(subprocess.run([sys.executable, "-m", "builder", "build", "--config", str(bad)],
                                  capture_output=True, text=True, cwd=ROOT), "unknown field 'colour'")

    assert tree_digest(root / "site") == before
    assert not list(root.glob(".site.*")), "temporary build directories must be cleaned up"


def test_netlify_toml_publishes_site_with_the_security_headers():
    netlify = tomllib.loads((ROOT / "netlify.toml").read_text())
    assert netlify["build"]["publish"] == "site"
    assert "build" in netlify["build"]["command"]
    every = next(h["values"] for h in netlify["headers"] if h["for"] == "/*")
    csp = every["Content-Security-Policy"]
    assert "'wasm-unsafe-eval'" in csp and "unsafe-inline" not in csp and "unsafe-eval'" not in csp.replace("wasm-unsafe-eval'", "")
    assert every["Cross-Origin-Opener-Policy"] == "same-origin"
    assert every["Cross-Origin-Embedder-Policy"] == "require-corp"
    assert "camera=(self)" in every["Permissions-Policy"]
    assert every["X-Content-Type-Options"] == "nosniff" and every["Referrer-Policy"]
    immutable = [h for h in netlify["headers"] if "immutable" in h["values"].get("Cache-Control", "")]
    assert {h["for"] for h in immutable} >= {"/assets/*", "/models/*"}


# -- nothing lost: the build replaces only a site it wrote --------------------------------------

SITE_MARKER = ".learning-to-see-site"


def test_out_dir_holding_anything_else_is_refused_before_converting_and_left_alone(project, tmp_path):
    """`build --out-dir docs` (or `--out-dir models`) must not swap a site in over someone's files."""
    root, _, _ = project
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "mine.md").write_text("notes\n")
    models = tmp_path / "models"
    shutil.copytree(root / "models", models)
    fresh_cache = tmp_path / "fresh-cache"
    for out, models_dir in ((docs, root / "models"), (models, models)):
        before = tree_digest(out)
        one_line_error(cli_build(root, "--out-dir", str(out), "--models-dir", str(models_dir),
                                 "--cache-dir", str(fresh_cache)), str(out), "not a site", "--out-dir")
        assert tree_digest(out) == before
    assert not fresh_cache.exists(), "refused before converting anything"
    assert not list(tmp_path.glob(".*tmp-*")) and not list(tmp_path.glob(".*old-*"))


def test_out_dir_that_cannot_be_written_is_refused_before_converting(project, tmp_path):
    root, _, _ = project
    (tmp_path / "a-file").write_text("")
    for out in ("/proc/site", tmp_path / "a-file" / "site", tmp_path / "a-file"):
        one_line_error(cli_build(root, "--out-dir", str(out), "--cache-dir", str(tmp_path / "cache")),
                       str(out), "--out-dir")
    assert not (tmp_path / "cache").exists()


def test_the_site_carries_its_marker_and_replaces_its_own_or_an_empty_or_a_legacy_site(project, tmp_path):
    root, _, _ = project
    assert (root / "site" / SITE_MARKER).is_file()
    empty = tmp_path / "empty"
    empty.mkdir()
    legacy = tmp_path / "legacy"  # a site built before the marker existed: our files only
    shutil.copytree(root / "site", legacy)
    for newer in (SITE_MARKER, "sw.js", "site.webmanifest"):  # what such a site did not have yet
        (legacy / newer).unlink()
    for out in (empty, legacy):
        done = cli_build(root, "--out-dir", str(out))
        assert done.returncode == 0, done.stderr
        assert tree_digest(out) == tree_digest(root / "site")
    (legacy / SITE_MARKER).unlink()
    (legacy / "mine.md").write_text("notes\n")  # ...but not one holding anything of someone else's
    one_line_error(cli_build(root, "--out-dir", str(legacy)), str(legacy), "not a site")
    assert (legacy / "mine.md").read_text() == "notes\n"


def test_a_failed_swap_leaves_the_destination_as_it_was(tmp_path):
    """replace_dir's second rename fails (the new folder vanished): the old one is put back."""
    from builder.atomic import replace_dir

    dest = tmp_path / "site"
    dest.mkdir()
    (dest / "index.html").write_text("old")
    with pytest.raises(FileNotFoundError):
        replace_dir(tmp_path / "vanished", dest)
    assert tree_digest(dest) == {"index.html": hashlib.sha256(b"old").hexdigest()}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_a_forced_quantization_under_the_psnr_floor_ships_with_a_warning(project, tmp_path):
    root, _, _ = project
    done = cli_build(root, "--quantization", "uint8", "--min-psnr-db", "200", "--out-dir", str(tmp_path / "site"))
    assert done.returncode == 0, done.stderr[-2000:]
    warnings = [line for line in done.stdout.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 2 and all("under min_psnr_db 200" in w for w in warnings), done.stdout[-2000:]
    assert (tmp_path / "site" / "index.html").is_file()


@pytest.mark.parametrize("change, words", [
    (lambda m: m["transform"].update(luma="grey"), ("transform.luma", "a list of 3 numbers")),
    (lambda m: m["transform"].pop("contrast"), ("transform.contrast", "got None")),
    (lambda m: m["input"].update(size=128), ("input.size is 128", "SavedModel takes 64")),
    (lambda m: m["transform"].update(levels={"mean": 0.6, "sd": 0.1}), ("transform.levels", "gain")),
    (lambda m: m["transform"].update(levels={"mean": 0.6, "sd": -0.1, "gain": [0.5, 2]}), ("transform.levels", "sd in (0, 1]")),
], ids=["wrong-type", "missing", "size-mismatch", "levels-without-gain", "levels-negative-sd"])
def test_a_meta_json_that_does_not_fit_is_one_line_naming_the_field(project, tmp_path, change, words):
    root, _, _ = project
    models = tmp_path / "models"
    shutil.copytree(root / "models" / "tiny", models / "tiny")
    meta_path = models / "tiny" / "meta.json"
    meta = json.loads(meta_path.read_text())
    change(meta)
    meta_path.write_text(json.dumps(meta))
    done = subprocess.run([sys.executable, "-m", "builder", "build", "--models-dir", str(models), "--models", "tiny",
                           "--default-model", "tiny", "--out-dir",
                           str(tmp_path / "site"), "--cache-dir", str(tmp_path / "cache")],
                          capture_output=True, text=True, cwd=ROOT)
    one_line_error(done, str(meta_path), *words)
    assert not (tmp_path / "site").exists() and not (tmp_path / "cache").exists()  # before any conversion
