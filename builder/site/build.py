"""python -m builder build: trained models + templates + js/ + glsl/ -> a deployable site/.

The build reads as a sequence: gather everything (config, models, conversions, bundle), then
write it into a temporary directory that replaces `site/` only when every step succeeded.
Every asset but index.html gets a content-hashed name, so it can be cached forever.
The site carries a marker file: the build replaces only a folder that is absent, empty or marked
(`check_out_dir`), so `--out-dir docs` or `--out-dir models` cannot delete anyone's files.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from builder.config import SiteConfig
from builder.site.convert import ConvertedModel, convert_model
from builder.errors import BuildError
from builder.site.quality import QUALITY_SHEET, read_quality, scorecard
from builder.site.files import SITE_MARKER, SiteFiles, check_out_dir, write_atomically
from builder.site.offline import (ICON_SIZES, MANIFEST, SERVICE_WORKER, icons, service_worker, thumbnail,
                                  web_manifest)
from builder.site.render import render, script_json

from builder import REPO_ROOT as ROOT
REQUIRED_META = ("name", "input", "output", "transform", "params", "flops", "steps")
PICTURES = ("preview", "loss_curve", "samples", "evidence")
MAX_DEFAULT_MODEL_BYTES = 1_000_000


@dataclass
class BuildReport:
    out_dir: Path
    models: list[dict] = field(default_factory=list)  # name, dtype, bytes, psnr_db
    files: int = 0
    total_bytes: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        rows = [f"{m['name']:<16} {m['dtype']:<14} {m['bytes'] / 1024:>8.1f} KiB  {m['psnr_db']:>6.1f} dB"
                for m in self.models]
        head = f"{'model':<16} {'dtype':<14} {'weights':>12}  {'PSNR':>9}"
        return "\n".join([head, *rows, f"built {self.out_dir}: {self.files} files, "
                          f"{self.total_bytes / 1024:.0f} KiB in {self.seconds:.1f} s"])


# -- gather -----------------------------------------------------------------------------------

def find_models(config: SiteConfig) -> list[tuple[Path, dict]]:
    """The model directories to ship, each with its parsed meta.json, validated."""
    root = Path(config.models_dir)
    if not root.is_dir():
        raise BuildError(f"{root}: models folder not found; train one with `python -m builder train`")
    names = list(config.models) or sorted(p.name for p in root.iterdir()
                                          if p.is_dir() and not p.name.startswith("."))
    if not names:
        raise BuildError(f"{root}: no models; train one with `python -m builder train`")
    found = []
    for name in names:
        model_dir = root / name
        if not model_dir.is_dir():
            raise BuildError(f"{model_dir}: model listed in the site config not found; train it or remove it "
                             f"from `models`")
        found.append((model_dir, read_meta(model_dir)))
    return found


def read_meta(model_dir: Path) -> dict:
    meta_path = model_dir / "meta.json"
    if not meta_path.is_file():
        raise BuildError(f"{meta_path}: missing; re-export the model (`python -m builder export --name "
                         f"{model_dir.name}`)")
    try:
        meta = json.loads(meta_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BuildError(f"{meta_path}: not valid JSON ({e}); re-export the model") from None
    missing = [k for k in REQUIRED_META if k not in meta]
    if missing:
        raise BuildError(f"{meta_path}: missing field '{missing[0]}'; re-export the model")
    for path, kind in META_FIELDS.items():
        value = meta
        for key in path.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if not _is(value, kind):
            raise BuildError(f"{meta_path}: field '{path}' must be {kind}, got {value!r}; re-export the model "
                             f"(`python -m builder export --name {model_dir.name}`)")
    saved = model_dir / "saved_model"
    for needed in (saved / "saved_model.pb", saved / "variables" / "variables.index"):
        if not needed.is_file():
            raise BuildError(f"{needed}: missing, the SavedModel is incomplete; re-export the model")
    size = saved_model_input_size(saved / "saved_model.pb")
    if size is not None and size != meta["input"]["size"]:
        raise BuildError(f"{meta_path}: input.size is {meta['input']['size']} but the SavedModel takes {size} px; "
                         f"re-export the model so that the two agree")
    return meta


# What the builder and the browser read from meta.json, and what each must be.
META_FIELDS = {"input.size": "a positive integer", "input.channels": "1", "output.channels": "3",
               "transform.downscale": "a positive integer", "transform.low_size": "a positive integer",
               "transform.cubic_a": "a number", "transform.luma": "a list of 3 numbers",
               "transform.brightness": "a number", "transform.contrast": "a number",
               "transform.scale": "a list of 2 numbers", "transform.flip_horizontal": "true or false",
               "transform.flip_vertical": "true or false",
               "transform.levels": "null or {mean, sd, gain: [min, max]} with mean and sd in (0, 1] and 0 < min <= max",
               "params": "a positive integer",
               "flops": "a positive integer", "steps": "a non-negative integer"}


def _is(value, kind: str) -> bool:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    integer = isinstance(value, int) and not isinstance(value, bool)
    if kind.startswith("a list of"):
        n = int(kind.split()[3])
        return isinstance(value, list) and len(value) == n and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    if kind.startswith("null or {mean"):  # transform.levels: absent or null in models trained without them
        return value is None or _levels(value)
    return {"a positive integer": integer and value > 0, "a non-negative integer": integer and value >= 0,
            "a number": number, "true or false": isinstance(value, bool),
            "1": integer and value == 1, "3": integer and value == 3}[kind]


def _levels(value) -> bool:
    if not isinstance(value, dict) or not _is(value.get("gain"), "a list of 2 numbers"):
        return False
    mean, sd, (low, high) = value.get("mean"), value.get("sd"), value["gain"]
    return _is(mean, "a number") and _is(sd, "a number") and 0 < mean <= 1 and 0 < sd <= 1 and 0 < low <= high


def saved_model_input_size(saved_model_pb: Path) -> int | None:
    """The square input size of the serving signature, read from saved_model.pb (None if unstated)."""
    from builder.tfenv import tensorflow

    tensorflow()
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    try:
        proto.ParseFromString(saved_model_pb.read_bytes())
        signature = proto.meta_graphs[0].signature_def["serving_default"]
        gray = signature.inputs["gray"] if "gray" in signature.inputs else next(iter(signature.inputs.values()))
        dims = gray.tensor_shape.dim
    except Exception:  # noqa: BLE001  an unreadable file is the converter's to report, with its own words
        return None
    return int(dims[1].size) if len(dims) == 4 and dims[1].size > 0 else None


def best_scored(names: list[str], qualities: list[dict | None]) -> str:
    """The model whose scorecard is best by the evaluation's own rule (scorecard.rank_key), the
    first of `names` on a tie; the first when none was evaluated."""
    from builder.training.evaluate.scorecard import TARGETS, meets, rank_key

    def key(quality: dict):  # judged against today's targets, not those of the day it was scored
        return rank_key({**quality, "passes": {k: meets(quality.get(k), *TARGETS[k]) for k in TARGETS}})

    scored = [(key(q), i) for i, q in enumerate(qualities) if q is not None]
    return names[min(scored)[1]] if scored else names[0]


def verify_shards(converted: ConvertedModel) -> dict:
    """The converted model.json, after checking every shard it names is present and whole."""
    model_json = converted.dir / "model.json"
    try:
        model = json.loads(model_json.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise BuildError(f"{model_json}: unreadable converted model ({e}); delete {converted.dir.parent} "
                         f"and build again") from None
    for group in model["weightsManifest"]:
        for shard in group["paths"]:
            if not (converted.dir / shard).is_file():
                raise BuildError(f"{converted.dir / shard}: weight shard missing; delete {converted.dir.parent} "
                                 f"and build again to reconvert")
    return model


def _card(model_dir: Path, meta: dict, converted: ConvertedModel, urls: dict, quality: dict | None) -> dict:
    q = converted.quantization
    return {
        "name": model_dir.name,  # the folder names the model on the site, as in site.toml
        "title": meta.get("title", model_dir.name.title()),
        "theme": meta.get("theme", ""),
        "dataset": meta.get("dataset", ""),
        "params": meta["params"], "flops": meta["flops"], "steps": meta["steps"],
        "fine_tune_steps": meta.get("fine_tune_steps"),
        "created": meta.get("created", ""),
        "bytes": q.bytes, "dtype": q.dtype, "psnr_db": q.psnr_db, "tried": q.tried,
        "model_url": urls["model"],
        "preview_url": urls.get("preview"), "thumb_url": urls.get("thumb"), "loss_curve_url": urls.get("loss_curve"),
        "samples_url": urls.get("samples"), "evidence_url": urls.get("evidence"),
        "scorecard": None if quality is None else scorecard(quality, q.psnr_db),
        "quality_url": urls.get("quality"),
    }


def add_model(files: SiteFiles, model_dir: Path, meta: dict, converted: ConvertedModel, model: dict,
              quality: dict | None) -> dict:
    """Hashed shards, a model.json pointing at them (`model`: the converted one, from
    verify_shards; its shard paths are rewritten here), and the model's pictures (with the
    scorecard's contact sheet when it was evaluated); returns its card."""
    folder = f"models/{model_dir.name}"
    for group in model["weightsManifest"]:
        group["paths"] = [files.add_hashed(folder, shard, (converted.dir / shard).read_bytes()).split("/")[-1]
                          for shard in group["paths"]]
    urls = {"model": files.add_hashed(folder, "model.json",
                                      json.dumps(model, sort_keys=True, separators=(",", ":")).encode())}
    for key in PICTURES:
        picture = meta.get(key)
        if picture and (model_dir / picture).is_file():
            urls[key] = files.add_hashed(folder, picture, (model_dir / picture).read_bytes())
    if "preview" in urls:
        urls["thumb"] = files.add_hashed(folder, "thumb.jpg", thumbnail(model_dir / meta["preview"]))
    if quality is not None:
        urls["quality"] = files.add_hashed(folder, QUALITY_SHEET, (model_dir / QUALITY_SHEET).read_bytes())
    return _card(model_dir, meta, converted, urls, quality)


def build_site(config: SiteConfig, out_dir: Path, root: Path = ROOT, progress=print) -> BuildReport:
    from builder.site.bundle import bundle
    from builder.site.converter_ops import graph_ops as graph_ops_of

    started = time.monotonic()
    out_dir = Path(out_dir)
    check_out_dir(out_dir)  # before the slow conversions, and again before the swap
    models = find_models(config)
    qualities = [read_quality(d) for d, _ in models]  # before the slow conversions: a bad one fails at once
    default = config.default_model or best_scored([d.name for d, _ in models], qualities)
    if default not in [d.name for d, _ in models]:
        raise BuildError(f"site config: default_model '{default}' is not among the models "
                         f"({', '.join(d.name for d, _ in models)}); fix `default_model`")
    converted = [convert_model(d, meta, quantization=config.quantization, min_psnr_db=config.min_psnr_db,
                               shard_bytes=config.shard_bytes, cache_root=Path(config.cache_dir),
                               progress=progress) for d, meta in models]
    for c in converted:  # a forced dtype ships as asked, but not silently
        if c.quantization.psnr_db < config.min_psnr_db:
            progress(f"warning: {c.name}: {c.quantization.dtype} measures {c.quantization.psnr_db} dB against "
                     f"float32, under min_psnr_db {config.min_psnr_db}; use quantization = \"auto\" to ship the "
                     f"smallest dtype that meets it")
    model_jsons = [verify_shards(c) for c in converted]
    bundled = bundle(root, set().union(*map(graph_ops_of, model_jsons)))

    files = SiteFiles()
    assets = {name: files.add_hashed("assets", name, data) for name, data in sorted(bundled.assets.items())}
    assets.update({name: files.add(f"assets/{name}", data) for name, data in sorted(bundled.scripts.items())})
    assets.update({entry: f"assets/{name}" for entry, name in bundled.entries.items()})
    cards = [add_model(files, d, meta, c, m, q) for (d, meta), c, m, q in zip(models, converted, model_jsons, qualities)]
    default_dir, default_meta = next((d, meta) for d, meta in models if d.name == default)
    preview = default_dir / default_meta["preview"] if default_meta.get("preview") else None
    icon_paths = {size: files.add_hashed("assets", name, data)
                  for size, (name, data) in zip(ICON_SIZES, icons(preview).items())}
    files.add(MANIFEST, web_manifest(config.title, config.description, icon_paths))
    default_card = next(c for c in cards if c["name"] == default)
    if default_card["bytes"] > MAX_DEFAULT_MODEL_BYTES:
        progress(f"warning: default model '{default}' weighs {default_card['bytes']} bytes "
                 f"(> {MAX_DEFAULT_MODEL_BYTES}); every visitor downloads it")

    runtime = {
        "defaultModel": default,
        "models": [{"name": c["name"], "title": c["title"], "url": c["model_url"], "bytes": c["bytes"],
                    "dtype": c["dtype"], "meta": meta} for c, (_, meta) in zip(cards, models)],
        "wasmPaths": {name: path for name, path in assets.items() if name.endswith(".wasm")},
        "workerUrl": assets["worker.js"],
        "serviceWorker": SERVICE_WORKER,
        "installation": {"fit": config.installation_fit, "cycleMinutes": config.installation_cycle_minutes},
    }
    context = {
        "site": {"title": config.title, "description": config.description},
        "models": cards, "default_model": default, "assets": assets,
        "main_imports": [assets[name] for name in bundled.static_imports["main.js"]],
        "manifest": MANIFEST, "touch_icon": icon_paths[max(ICON_SIZES)],
        "runtime_config_json": script_json(runtime),
    }
    files.add("index.html", render(root / "templates", "index.html", context).encode())
    quantization = {c["name"]: {"dtype": c["dtype"], "bytes": c["bytes"], "psnr_db": c["psnr_db"],
                                "tried": c["tried"]} for c in cards}
    files.add("quantization.json", (json.dumps(quantization, indent=2, sort_keys=True) + "\n").encode())
    manifest = {"assets": assets, "models": {c["name"]: c["model_url"] for c in cards}}
    files.add("manifest.json", (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())
    # Kept for offline use: the page and everything it shows; the models' weights only once loaded
    # (js/model_cache.js keeps those).
    weights = {path for card in cards for path in files.files
               if path.startswith(f"models/{card['name']}/") and (path.endswith(".bin") or "/model." in path)}
    files.add(SERVICE_WORKER, service_worker(root / "templates", [p for p in files.files if p not in weights]))
    files.add(SITE_MARKER, b"Written by `python -m builder build`, which replaces this whole folder at each build.\n")

    write_atomically(files, out_dir)
    return BuildReport(out_dir, [{k: c[k] for k in ("name", "dtype", "bytes", "psnr_db")} for c in cards],
                       len(files.files), sum(map(len, files.files.values())), time.monotonic() - started)
