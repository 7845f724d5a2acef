"""What the benchmark serves: the built site at /, and beside it at /baseline/ the tf.js-defaults
baseline (baseline/index.html and baseline/baseline.js, bundled by the site's bundler) and the
machine's reference speed (baseline/reference.html and reference.js: two convolutions on wasm)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from builder import REPO_ROOT
from builder.errors import BuilderError

BASELINE_DIR = Path(__file__).resolve().parent / "baseline"
BASELINE_PAGE = "baseline/index.html"  # where bench_root serves it, relative to the site's URL
REFERENCE_PAGE = "baseline/reference.html"


def ensure_site(site_dir: Path, rebuild: bool) -> None:
    """Build site_dir with the committed models (site.toml when present) unless it exists."""
    if (site_dir / "index.html").is_file() and not rebuild:
        return
    from builder import config as cfg
    from builder.site.build import build_site

    site_toml = REPO_ROOT / "site.toml"
    config = cfg.load(cfg.SiteConfig, site_toml if site_toml.is_file() else None)
    print(f"building {site_dir} ...", flush=True)
    build_site(config, site_dir)


def read_runtime_config(site_dir: Path) -> dict:
    """The JSON that index.html embeds as <script type="application/json" id="runtime-config">."""
    html = (site_dir / "index.html").read_text(encoding="utf-8")
    found = re.search(r'<script[^>]*\bid="runtime-config"[^>]*>(.*?)</script>', html, re.S)
    if not found:
        raise BuilderError(f"{site_dir / 'index.html'}: no runtime-config script; rebuild with --rebuild")
    return json.loads(found.group(1))


def default_model(runtime: dict) -> dict:
    """The runtime config's entry for its default model: name, url, bytes, dtype, meta."""
    return next(m for m in runtime["models"] if m["name"] == runtime["defaultModel"])


def write_baseline_page(folder: Path) -> None:
    """folder/index.html with baseline.js and reference.html with reference.js, each script
    bundled with tf.js from node_modules."""
    from builder.site.bundle import bundle_script

    folder.mkdir(parents=True)
    for page, script in (("index.html", "baseline.js"), ("reference.html", "reference.js")):
        bundled = bundle_script(REPO_ROOT, (BASELINE_DIR / script).relative_to(REPO_ROOT).as_posix())
        shutil.copyfile(BASELINE_DIR / page, folder / page)
        (folder / script).write_bytes(bundled)


def bench_root(site_dir: Path, work: Path) -> Path:
    """A folder serving the site at / and the baseline at /baseline/ (same origin: COEP allows it)."""
    root = work / "root"
    root.mkdir()
    for entry in site_dir.resolve().iterdir():
        (root / entry.name).symlink_to(entry)
    write_baseline_page(root / Path(BASELINE_PAGE).parent)
    return root


def baseline_url(url: str, model: dict) -> str:
    """The baseline page at url's /baseline/, on `model` with the numbers its meta.json gives."""
    meta = model["meta"]
    luma = meta["transform"].get("luma")
    if luma is None:  # the grey conversion must be the model's own, not one typed here
        raise BuilderError(f"models/{model['name']}/meta.json: transform.luma is missing; re-export it "
                           f"with `python -m builder export --name {model['name']}`")
    query = "&".join([
        f"model=../{model['url']}", f"size={meta['input']['size']}", f"low={meta['transform']['low_size']}",
        "luma=" + json.dumps(luma).replace(" ", ""),
    ])
    return f"{url}{BASELINE_PAGE}?{query}"
