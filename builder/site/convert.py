"""Convert a trained generator to a sharded, quantized tf.js graph model, choosing the
quantization by measurement.

For `quantization = "auto"` the candidates are tried smallest first (uint8, uint16, float16)
and the first whose output PSNR against the float32 SavedModel is >= min_psnr_db is kept
(float32 if none is). The PSNR is measured on the converted artefact: the converted model is
run in real tf.js (Node, wasm backend) on real photographs put through the input transform.

Conversions are cached under .cache/convert/<key>/, keyed by a content hash of the model
directory and the options, so a rebuild with nothing changed converts nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np

from builder.atomic import interrupted_while, new_dir
from builder.errors import BuildError

from builder import REPO_ROOT as ROOT
RUNNER = Path(__file__).with_name("run_graph_model.mjs")
# Smallest first. "uint8+float16" keeps tensors under SMALL_TENSOR elements (the first and last
# convolutions, the norms' scales) at float16: a few KB more, and most of uint8's error gone.
AUTO_ORDER = ("uint8", "uint8+float16", "uint16", "float16")
SMALL_TENSOR = 16384
CACHE_FORMAT = 1


@dataclass
class Quantization:
    """What was chosen for one model, and every candidate measured on the way."""

    dtype: str
    bytes: int
    psnr_db: float
    tried: list[dict] = field(default_factory=list)  # [{dtype, bytes, psnr_db}], in order


@dataclass
class ConvertedModel:
    name: str
    dir: Path  # model.json + shards
    quantization: Quantization


def tree_hash(path: Path) -> str:
    """sha256 over every file's relative path and bytes, in sorted order."""
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(f.relative_to(path).as_posix().encode() + b"\0")
        h.update(f.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def cache_key(model_dir: Path, *, quantization: str, min_psnr_db: float, shard_bytes: int) -> str:
    options = {"format": CACHE_FORMAT, "quantization": quantization, "min_psnr_db": min_psnr_db,
               "shard_bytes": shard_bytes, "tensorflowjs": metadata.version("tensorflowjs"),
               "runner": hashlib.sha256(RUNNER.read_bytes()).hexdigest(),
               "converter": hashlib.sha256(Path(__file__).read_bytes()).hexdigest()}  # this file's logic
    h = hashlib.sha256(json.dumps(options, sort_keys=True).encode())
    h.update(tree_hash(model_dir / "saved_model").encode())
    h.update((model_dir / "meta.json").read_bytes())
    return h.hexdigest()[:24]


def psnr_db(reference: np.ndarray, test: np.ndarray) -> float:
    """PSNR of images in [-1, 1], measured on the [0, 1] scale."""
    mse = float(np.mean(((reference - test) / 2.0) ** 2))
    return 120.0 if mse < 1e-12 else min(120.0, float(10 * np.log10(1.0 / mse)))


def convert_saved_model(saved_model: Path, out_dir: Path, dtype: str, shard_bytes: int) -> None:
    """The tensorflowjs converter's Python API (avoids the CLI's `--quantize_uint8 IN OUT` trap,
    where IN is taken as a list of weight names)."""
    from builder.tfenv import muted_stderr, tensorflow

    tensorflow()
    from tensorflowjs.converters import tf_saved_model_conversion_v2 as tfjs

    def run(target: Path, dtype_map: dict) -> None:
        with muted_stderr():  # grappler logs a page per conversion through C++ logging
            tfjs.convert_tf_saved_model(str(saved_model), str(target), signature_def="serving_default",
                                        saved_model_tags="serve", quantization_dtype_map=dtype_map,
                                        weight_shard_size_bytes=shard_bytes)
        fold_weight_casts(target / "model.json")

    if dtype == "float32":
        return run(out_dir, {})
    if dtype != "uint8+float16":
        return run(out_dir, {dtype: "*"})
    # Weight names exist only after the converter has frozen the graph: convert once to learn them.
    with tempfile.TemporaryDirectory() as probe:
        run(Path(probe), {})
        specs = [w for group in json.loads((Path(probe) / "model.json").read_text())["weightsManifest"]
                 for w in group["weights"]]
    sizes = {w["name"]: int(np.prod(w["shape"])) for w in specs}
    dtype_map = {"uint8": [n for n, k in sizes.items() if k >= SMALL_TENSOR],
                 "float16": [n for n, k in sizes.items() if k < SMALL_TENSOR]}
    run(out_dir, {k: v for k, v in dtype_map.items() if v})


def fold_weight_casts(model_json: Path) -> int:
    """Drop the graph's Cast nodes whose input is a stored weight; returns how many.

    The SavedModel stores weights as float16 and casts them in the graph; the converter already
    writes those weights as float32 but keeps some of the casts (10 in the 256-px generator).
    tf.js then makes a new filter tensor every frame, and the wasm backend re-packs every such
    filter for XNNPACK every frame (down5: 2.8 ms instead of 0.38; about 15 ms a frame in all)."""
    model = json.loads(model_json.read_text())
    weights = {w["name"]: w for group in model["weightsManifest"] for w in group["weights"]}
    nodes = model["modelTopology"]["node"]
    folded = {}
    for node in nodes:
        source = node.get("input", [""])[0].split(":")[0]
        dst = node.get("attr", {}).get("DstT", {}).get("type")
        if node["op"] == "Cast" and len(node["input"]) == 1 and weights.get(source, {}).get("dtype") == "float32" \
                and dst == "DT_FLOAT":
            folded[node["name"]] = source
    if not folded:
        return 0

    def redirect(name: str) -> str:
        prefix, bare = ("^", name[1:]) if name.startswith("^") else ("", name)
        base, _, port = bare.partition(":")
        return prefix + folded[base] + (":" + port if port else "") if base in folded else name

    model["modelTopology"]["node"] = [
        {**node, "input": [redirect(i) for i in node.get("input", [])]} if "input" in node else node
        for node in nodes if node["name"] not in folded]
    model_json.write_text(json.dumps(model))
    return len(folded)


def weights_bytes(model_dir: Path) -> int:
    manifest = json.loads((model_dir / "model.json").read_text())["weightsManifest"]
    return sum((model_dir / p).stat().st_size for group in manifest for p in group["paths"])


def run_in_tfjs(model_json: Path, inputs: np.ndarray, backend: str = "wasm", noise_shifts=None) -> np.ndarray:
    """Run a converted graph model in real tf.js (Node): (n, S, S, 1) -> (n, S, S, C); a model with
    a noise texture gets noise_shifts ((n, 2) int, one per input; None: zeros) as `noise_shift`."""
    node_modules = ROOT / "node_modules" / "@tensorflow" / "tfjs-converter"
    if not node_modules.exists():
        raise BuildError(f"{node_modules}: missing; run `make build` (or `npm ci`) to install the JS dependencies")
    n, size = inputs.shape[0], inputs.shape[1]
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.f32", Path(tmp) / "out.f32"
        src.write_bytes(np.ascontiguousarray(inputs, "<f4").tobytes())
        shifts = Path(tmp) / "shifts.i32"
        shifts.write_bytes(np.ascontiguousarray(np.zeros((n, 2)) if noise_shifts is None else noise_shifts, "<i4").tobytes())
        done = subprocess.run(["node", str(RUNNER), str(Path(model_json).resolve()), str(src), str(n), str(size),
                               str(dst), backend, str(shifts)], capture_output=True, text=True, cwd=ROOT)
        if done.returncode != 0:
            # Node ends a crash with its version line; the error is the last line that names one.
            lines = done.stderr.strip().splitlines() or ["(no output)"]
            reason = next((line for line in reversed(lines) if "Error" in line), lines[-1])
            raise BuildError(f"{model_json}: tf.js could not run the converted model: {reason.strip()}")
        out = np.frombuffer(dst.read_bytes(), "<f4")
    return out.reshape(n, size, size, -1)


def load_saved_model(saved_model: Path):
    """The SavedModel's `serving_default`, loaded once, as a function (n, S, S, 1) -> (n, S, S, 3)
    of the soft inputs and, for a generator with a noise texture, where its pattern is moved to
    (`noise_shift`, one (dy, dx) for all n: builder/training/motion.py; None: not moved). The
    function's `noise_side` is the pattern's side in pixels (None: the model has no noise)."""
    from builder.tfenv import tensorflow

    tf = tensorflow()
    saved = tf.saved_model.load(str(saved_model))
    serve = saved.signatures["serving_default"]
    takes_shift = "noise_shift" in serve.structured_input_signature[1]
    patterns = [v for v in getattr(saved, "non_trainable", []) if v.name.split(":")[0] == "pattern"]

    def run(inputs: np.ndarray, noise_shift=None) -> np.ndarray:
        shift = {"noise_shift": tf.constant((0, 0) if noise_shift is None else noise_shift, tf.int32)}
        feeds = [{"gray": tf.constant(inputs[i:i + 1]), **(shift if takes_shift else {})} for i in range(len(inputs))]
        return np.concatenate([next(iter(serve(**feed).values())).numpy() for feed in feeds])

    run.noise_side = int(patterns[0].shape[0]) if takes_shift and patterns else None
    return run


def reference_outputs(saved_model: Path, inputs: np.ndarray) -> np.ndarray:
    """The float32 generator's outputs, from the SavedModel itself."""
    return load_saved_model(saved_model)(inputs)


def check_inputs(meta: dict) -> np.ndarray:
    """The fixed real inputs of the PSNR check: photographs through the model's own transform."""
    from builder.training.photos import photo_inputs
    from builder.training.transform import TransformParams

    params = TransformParams.from_meta(meta)
    return photo_inputs(params)[1]


def convert_model(model_dir: Path, meta: dict, *, quantization: str, min_psnr_db: float, shard_bytes: int,
                  cache_root: Path, progress=print) -> ConvertedModel:
    """Converted model for `model_dir`, from the cache when its key matches."""
    key = cache_key(model_dir, quantization=quantization, min_psnr_db=min_psnr_db, shard_bytes=shard_bytes)
    cached = cache_root / key
    if (cached / "quantization.json").is_file():
        q = Quantization(**json.loads((cached / "quantization.json").read_text()))
        return ConvertedModel(model_dir.name, cached / "model", q)

    with interrupted_while(f"converting {model_dir} into {cached}"), new_dir(cached) as work:
        inputs = check_inputs(meta)
        reference = reference_outputs(model_dir / "saved_model", inputs)
        # float32 closes the auto list: shipped when nothing smaller is faithful enough.
        candidates = (*AUTO_ORDER, "float32") if quantization == "auto" else (quantization,)
        tried = []
        for dtype in candidates:
            progress(f"  {model_dir.name}: converting ({dtype}) and measuring PSNR in tf.js")
            out = work / dtype
            convert_saved_model(model_dir / "saved_model", out, dtype, shard_bytes)
            score = psnr_db(reference, run_in_tfjs(out / "model.json", inputs))
            tried.append({"dtype": dtype, "bytes": weights_bytes(out), "psnr_db": round(score, 2)})
            if score >= min_psnr_db:
                break
        chosen = tried[-1]["dtype"]
        final = tried[-1]
        q = Quantization(dtype=chosen, bytes=final["bytes"], psnr_db=final["psnr_db"], tried=tried)
        os.replace(work / chosen, work / "model")
        (work / "quantization.json").write_text(json.dumps(asdict(q), indent=2) + "\n")
        for extra in work.iterdir():
            if extra.is_dir() and extra.name != "model":
                shutil.rmtree(extra)
    return ConvertedModel(model_dir.name, cached / "model", q)
