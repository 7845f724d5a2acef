"""python -m builder bench: frame rate, latency and memory of the demo in headless Chromium.

One run measures, side by side on the same machine, camera clip and model:
  - the site for each backend (auto, webgl, wasm; webgpu when the browser offers an adapter):
    end-to-end fps, ms per stage (demo.stats().stageMs), first generated frame after load,
    readbacks per frame, and growth of tensors, tensor bytes and JS heap over --frames frames;
  - a BASELINE: the same model.json run the way tf.js does by default (fromPixels -> tf.image
    crop/grayscale/resizeBilinear -> predict -> toPixels, default backend), a page bundled here
    at bench time and served beside the site, so the figure that matters is a ratio.

Writes bench-results/bench.json and bench-results/bench.png and prints the JSON, then each
figure next to its target.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

from builder.measure import browser as harness  # the tests' Chromium harness: the benchmark measures the same way
from builder.errors import BuilderError
from builder import REPO_ROOT
from builder.site.serve import serving

TARGETS = {
    "auto_fps": (">=", 15.0, "fps, auto backend at 256 px"),
    "speedup_vs_baseline": (">=", 3.0, "x the tf.js-defaults baseline (fps, auto backend)"),
    "first_frame_ms": ("<=", 2000.0, "ms from navigation to the first generated frame (auto)"),
    "tensor_growth": ("==", 0, "tensors gained over the measured frames (every backend)"),
    "tensor_bytes_growth": ("==", 0, "tensor bytes gained over the measured frames (every backend)"),
    "heap_growth_bytes": ("<", 1_000_000, "bytes of JS heap gained after GC over the measured frames"),
}
BACKENDS = ("auto", "webgl", "wasm", "webgpu")
WARM_UP_FRAMES = 30

# Runs before the page's scripts: notes when demo.ready resolves, in page time (ms since navigation).
NOTE_READY_TIME = """
(() => {
  const poll = setInterval(() => {
    if (!window.demo || !window.demo.ready) return;
    clearInterval(poll);
    window.demo.ready.then(() => { window.__readyAtMs = performance.now(); }, () => {});
  }, 1);
})();
"""

BASELINE_HTML = """<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>tf.js defaults baseline</title>
<link rel="icon" href="data:,">
<canvas id="output"></canvas>
<script type="module" src="baseline.js"></script>
</html>
"""

# The obvious tf.js program: every step a tf op on the default backend, the output read back to
# the CPU by toPixels. It exposes the same status object as the site, so one harness measures both.
BASELINE_JS = r"""
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgl';
import {loadGraphModel} from '@tensorflow/tfjs-converter';

const query = new URLSearchParams(location.search);
const modelUrl = query.get('model');
const size = Number(query.get('size'));
const lowSize = Number(query.get('low'));
const luma = JSON.parse(query.get('luma'));
const canvas = document.getElementById('output');

let frames = 0, firstFrameMs = 0, frameMs = 0, fps = 0, state = 'loading', error = '';
let resolveReady, rejectReady;
const ready = new Promise((resolve, reject) => { resolveReady = resolve; rejectReady = reject; });
window.demo = {
  ready,
  stats: () => {
    const memory = tf.memory();
    return {frames, fps, backend: tf.getBackend(), numTensors: memory.numTensors, numBytes: memory.numBytes,
            readbacksPerFrame: 1, model: 'baseline', source: 'camera', stageMs: {'all stages': frameMs},
            firstFrameMs, state, error};
  },
};

function firstTensor(output) {
  if (output instanceof tf.Tensor) return output;
  return Array.isArray(output) ? output[0] : Object.values(output)[0];
}

async function main() {
  const stream = await navigator.mediaDevices.getUserMedia({video: {width: 640, height: 480}});
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  video.srcObject = stream;
  await video.play();
  await tf.ready();
  const model = await loadGraphModel(modelUrl);
  const lumaWeights = tf.tensor1d(luma);
  let lastVideoTime = -1, fpsSince = performance.now(), fpsFrames = 0;
  state = 'running';
  for (;;) {
    await new Promise((resolve) => requestAnimationFrame(resolve));
    if (video.currentTime === lastVideoTime) continue;
    lastVideoTime = video.currentTime;
    const start = performance.now();
    const image = tf.tidy(() => {  // tfjs-core alone has no chained ops: call them as functions
      const rgb = tf.div(tf.cast(tf.browser.fromPixels(video), 'float32'), 255);  // (h, w, 3)
      const [h, w] = rgb.shape;
      const side = Math.min(h, w);
      const square = tf.slice(rgb, [(h - side) >> 1, (w - side) >> 1, 0], [side, side, 3]);
      const gray = tf.sum(tf.mul(square, lumaWeights), -1, true);  // (side, side, 1)
      const low = tf.image.resizeBilinear(gray, [lowSize, lowSize]);
      const up = tf.image.resizeBilinear(low, [size, size]);  // (size, size, 1)
      const input = tf.expandDims(tf.sub(tf.mul(up, 2), 1), 0);
      const output = firstTensor(model.predict(input));  // (1, size, size, 3) in [-1, 1]
      return tf.clipByValue(tf.div(tf.add(tf.squeeze(output, [0]), 1), 2), 0, 1);
    });
    await tf.browser.toPixels(image, canvas);
    image.dispose();
    frames += 1;
    fpsFrames += 1;
    frameMs = performance.now() - start;
    if (frames === 1) {
      firstFrameMs = performance.now();
      resolveReady();
    }
    if (performance.now() - fpsSince >= 1000) {
      fps = fpsFrames * 1000 / (performance.now() - fpsSince);
      fpsSince = performance.now();
      fpsFrames = 0;
    }
  }
}

main().catch((e) => { state = 'error'; error = String(e); rejectReady(e); });
"""


# --- the site and the pages ---------------------------------------------------------------------

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


def write_baseline_page(folder: Path) -> None:
    """folder/index.html and folder/baseline.js (bundled from node_modules by esbuild)."""
    esbuild = REPO_ROOT / "node_modules" / ".bin" / "esbuild"
    if not esbuild.is_file():
        raise BuilderError(f"{esbuild}: not found; run `npm ci` first")
    folder.mkdir(parents=True)
    (folder / "index.html").write_text(BASELINE_HTML, encoding="utf-8")
    # stdin with cwd = repository: bare imports resolve in the repository's node_modules.
    result = subprocess.run(
        [str(esbuild), "--bundle", "--format=esm", "--minify", "--target=es2022", "--log-level=error",
         "--sourcefile=baseline.js", f"--outfile={folder / 'baseline.js'}"],
        input=BASELINE_JS, text=True, cwd=REPO_ROOT, capture_output=True)
    if result.returncode != 0:
        raise BuilderError(f"esbuild could not bundle the baseline page: {result.stderr.strip()}")


def bench_root(site_dir: Path, work: Path) -> Path:
    """A folder serving the site at / and the baseline at /baseline/ (same origin: COEP allows it)."""
    root = work / "root"
    root.mkdir()
    for entry in site_dir.resolve().iterdir():
        (root / entry.name).symlink_to(entry)
    write_baseline_page(root / "baseline")
    return root


# --- measuring ----------------------------------------------------------------------------------

def frames_or_deadline(demo, frames: int, seconds: float) -> dict:
    """Wait for `frames` more frames or `seconds`, whichever comes first (a slow backend still
    gets figures); returns {stats, now} at the end, `now` in page time (ms)."""
    start = demo.page.evaluate("() => ({stats: window.demo.stats(), now: performance.now()})")
    return start, demo.wait_for(
        """({target, deadline}) => {
             const stats = window.demo.stats(), now = performance.now();
             return (stats.frames >= target || now >= deadline) && {stats, now};
           }""",
        f"{frames} frames or {seconds:g} s", timeout_s=seconds + 60,
        arg={"target": start["stats"]["frames"] + frames, "deadline": start["now"] + seconds * 1000})


def measure(browser, url: str, frames: int, max_seconds: float) -> dict:
    """Load url in a fresh profile and measure it through window.demo.

    After the first frame: WARM_UP_FRAMES frames (at most a quarter of max_seconds) to settle
    shaders and caches, then `frames` frames (at most max_seconds) between two forced GCs.
    """
    context = harness.new_context(browser, camera=True)
    try:
        context.add_init_script(NOTE_READY_TIME)
        demo = harness.open_demo(context, url)
        # The first frame from stats, not demo.ready: figures even when ready never resolves
        # (then ready_at_ms is None: a bug the browser tests catch).
        first = demo.wait_for("() => window.demo && window.demo.stats().frames >= 1 && window.demo.stats()",
                              "the first generated frame", timeout_s=max(120.0, max_seconds))
        frames_or_deadline(demo, WARM_UP_FRAMES, max_seconds / 4)

        heap_before = demo.heap_after_gc_bytes()
        start, end = frames_or_deadline(demo, frames, max_seconds)
        heap_after = demo.heap_after_gc_bytes()
        ready_at_ms = demo.page.evaluate("() => window.__readyAtMs ?? null")

        before, after = start["stats"], end["stats"]
        measured = after["frames"] - before["frames"]
        seconds = (end["now"] - start["now"]) / 1000
        return {
            "url": url,
            "backend": after["backend"],
            "fps": round(measured / seconds, 2) if seconds > 0 else 0.0,
            "fps_reported": after["fps"],
            "frames_measured": measured,
            "seconds_measured": round(seconds, 2),
            "stage_ms": after["stageMs"],
            "gpu_ms": after.get("gpuMs"),
            "first_frame_ms": after.get("firstFrameMs") or first.get("firstFrameMs"),
            "ready_at_ms": round(ready_at_ms, 1) if ready_at_ms is not None else None,
            "readbacks_per_frame": after["readbacksPerFrame"],
            "tensor_growth": after["numTensors"] - before["numTensors"],
            "tensor_bytes_growth": after["numBytes"] - before["numBytes"],
            "heap_growth_bytes": heap_after - heap_before,
            "num_tensors": after["numTensors"],
            "num_bytes": after["numBytes"],
            "page_errors": demo.problems(),
        }
    finally:
        context.close()


def probe_browser(browser, url: str) -> dict:
    """The browser's version, WebGL renderer and whether WebGPU offers an adapter, on url's origin."""
    context = harness.new_context(browser, camera=False)
    try:
        page = context.new_page()
        page.goto(url + "baseline/index.html?probe")  # any page of the origin: a secure context
        info = page.evaluate("""async () => {
          const gl = document.createElement('canvas').getContext('webgl2');
          const debug = gl && gl.getExtension('WEBGL_debug_renderer_info');
          const renderer = gl ? gl.getParameter(debug ? debug.UNMASKED_RENDERER_WEBGL : gl.RENDERER) : null;
          const adapter = navigator.gpu ? await navigator.gpu.requestAdapter().catch(() => null) : null;
          return {webgl_renderer: renderer, webgpu: !!adapter, cross_origin_isolated: crossOriginIsolated,
                  user_agent: navigator.userAgent};
        }""")
        return {"chromium": browser.version, **info}
    finally:
        context.close()


def run_bench(site_dir: Path, *, frames: int, max_seconds: float, backends: list[str],
              rebuild: bool = False) -> dict:
    from playwright.sync_api import sync_playwright

    launch_chromium, write_fake_camera_y4m = harness.launch_chromium, harness.write_fake_camera_y4m
    ensure_site(site_dir, rebuild)
    runtime = read_runtime_config(site_dir)
    model = next(m for m in runtime["models"] if m["name"] == runtime["defaultModel"])
    meta = model["meta"]
    size, low_size = meta["input"]["size"], meta["transform"]["low_size"]
    if size != 256:
        print(f"note: the default model {model['name']!r} is {size} px, not 256; targets assume 256")

    results = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "model": {"name": model["name"], "size": size, "bytes": model.get("bytes"), "dtype": model.get("dtype")},
        "frames_requested": frames,
        "max_seconds": max_seconds,
        "camera": {"width": 640, "height": 480, "fps": 60},
        "backends": {},
    }
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, sync_playwright() as driver:
        work = Path(tmp)
        camera = write_fake_camera_y4m(work / "camera.y4m", width=640, height=480, fps=60, frames=120)
        root = bench_root(site_dir, work)
        with serving(root) as url:
            browser = launch_chromium(driver, camera)
            try:
                results["browser"] = probe_browser(browser, url)
            finally:
                browser.close()

            baseline_query = "?" + "&".join([
                f"model=../{model['url']}", f"size={size}", f"low={low_size}",
                "luma=" + json.dumps(meta["transform"].get("luma", [0.299, 0.587, 0.114])).replace(" ", ""),
            ])
            runs = [(b, url if b == "auto" else f"{url}?backend={b}") for b in backends]
            runs.append(("baseline", f"{url}baseline/index.html{baseline_query}"))
            for name, page_url in runs:
                if name == "webgpu" and not results["browser"]["webgpu"]:
                    results["backends"][name] = {"skipped": "no WebGPU adapter in this browser"}
                    continue
                print(f"measuring {name} ...", flush=True)
                started = time.monotonic()
                browser = launch_chromium(driver, camera)  # fresh process: no shader cache shared
                try:
                    figures = measure(browser, page_url, frames, max_seconds)
                except Exception as error:  # one backend failing must not hide the others
                    figures = {"error": f"{type(error).__name__}: {error}"}
                finally:
                    browser.close()
                figures["wall_seconds"] = round(time.monotonic() - started, 1)
                if name == "baseline":
                    results["baseline"] = figures
                else:
                    results["backends"][name] = figures

    results["checks"] = check_targets(results)
    auto_backend = results["backends"].get("auto", {}).get("backend")
    baseline_backend = results.get("baseline", {}).get("backend")
    if auto_backend and baseline_backend and auto_backend != baseline_backend:
        results["checks"]["speedup_vs_baseline"]["note"] = (
            f"auto runs {auto_backend}, the baseline tf.js's default {baseline_backend}: "
            "the ratio includes the choice of backend")
    return results


def check_targets(results: dict) -> dict:
    """Each target with the measured value and whether it is met (None: not measured)."""
    auto = results["backends"].get("auto", {})
    baseline = results.get("baseline", {})
    measured = {name: b for name, b in results["backends"].items() if "fps" in b}
    values = {
        "auto_fps": auto.get("fps"),
        "speedup_vs_baseline": (round(auto["fps"] / baseline["fps"], 2)
                                if auto.get("fps") and baseline.get("fps") else None),
        "first_frame_ms": auto.get("first_frame_ms"),
        "tensor_growth": max((b["tensor_growth"] for b in measured.values()), key=abs, default=None),
        "tensor_bytes_growth": max((b["tensor_bytes_growth"] for b in measured.values()), key=abs, default=None),
        "heap_growth_bytes": max((b["heap_growth_bytes"] for b in measured.values()), default=None),
    }
    compare = {">=": lambda v, t: v >= t, "<=": lambda v, t: v <= t, "<": lambda v, t: v < t,
               "==": lambda v, t: v == t}
    return {name: {"value": values[name], "target": f"{op} {target}", "what": what,
                   "met": None if values[name] is None else compare[op](values[name], target)}
            for name, (op, target, what) in TARGETS.items()}


# --- reporting ----------------------------------------------------------------------------------

def plot(results: dict, path: Path) -> None:
    """Frame rate per backend beside the baseline; where each frame's time goes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    runs = {name: b for name, b in results["backends"].items() if "fps" in b}
    baseline = results.get("baseline", {})
    if "fps" in baseline:
        runs[f"baseline\n(tf.js defaults,\n{baseline['backend']})"] = baseline
    names = list(runs)
    fig, (ax_fps, ax_ms) = plt.subplots(1, 2, figsize=(12, 4.5))

    ax_fps.bar(names, [runs[n]["fps"] for n in names],
               color=["#8a8a8a" if n.startswith("baseline") else "#3b6ea8" for n in names])
    ax_fps.axhline(TARGETS["auto_fps"][1], color="#c0392b", linestyle="--", linewidth=1, label="target (auto)")
    for i, n in enumerate(names):
        ax_fps.annotate(f"{runs[n]['fps']:.1f}", (i, runs[n]["fps"]), ha="center", va="bottom")
    ax_fps.set_ylabel("frames per second")
    ax_fps.set_title(f"{results['model']['name']} at {results['model']['size']} px, end to end")
    ax_fps.legend()

    # Grouped, log scale: stage times (CPU side), GPU time (WebGL fence) and the frame interval
    # differ by orders of magnitude on a software renderer.
    series = {"frame interval (1000/fps)": [1000 / runs[n]["fps"] if runs[n]["fps"] else np.nan for n in names]}
    for stage in sorted({s for b in runs.values() for s in (b.get("stage_ms") or {})}):
        series[stage] = [float((runs[n].get("stage_ms") or {}).get(stage) or np.nan) for n in names]
    series["gpu (WebGL)"] = [runs[n].get("gpu_ms") or np.nan for n in names]
    width = 0.8 / len(series)
    for k, (label, values) in enumerate(series.items()):
        ax_ms.bar(np.arange(len(names)) + (k - (len(series) - 1) / 2) * width, values, width, label=label)
    ax_ms.set_xticks(np.arange(len(names)), names)
    ax_ms.set_yscale("log")
    ax_ms.set_ylabel("ms (log scale)")
    ax_ms.set_title("where a frame's time goes")
    ax_ms.legend(fontsize=7)
    browser = results.get("browser", {})
    fig.suptitle(f"Chromium {browser.get('chromium', '?')}, {browser.get('webgl_renderer', '?')}, "
                 f"{results['cpus']} CPUs, {results['date']}", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def summary(results: dict) -> str:
    lines = ["", f"{'backend':<10} {'fps':>7} {'frames':>7} {'first ms':>9} {'readbacks':>9} {'Δtensors':>9} "
                 f"{'Δbytes':>8} {'Δheap KB':>9}  stage ms"]
    runs = {**results["backends"], "baseline": results.get("baseline", {})}
    for name, b in runs.items():
        if "fps" not in b:
            lines.append(f"{name:<10} {b.get('skipped') or b.get('error', 'not run')}")
            continue
        stages = ", ".join(f"{k} {float(v):.1f}" for k, v in (b["stage_ms"] or {}).items())
        lines.append(f"{name:<10} {b['fps']:>7.1f} {b['frames_measured']:>7} {b['first_frame_ms'] or 0:>9.0f} {b['readbacks_per_frame']:>9} "
                     f"{b['tensor_growth']:>9} {b['tensor_bytes_growth']:>8} {b['heap_growth_bytes'] / 1024:>9.0f}"
                     f"  {stages}")
    lines.append("")
    for name, check in results["checks"].items():
        mark = {True: "ok  ", False: "MISS", None: "n/a "}[check["met"]]
        lines.append(f"{mark} {name:<20} {check['value']!s:>10}  target {check['target']:<12} {check['what']}")
        if check.get("note"):
            lines.append(f"     {'':<20} {'':>10}  note: {check['note']}")
    return "\n".join(lines)


def add_arguments(parser) -> None:
    parser.add_argument("--site", type=Path, default=Path("site"),
                        help="built site to measure (built with the committed models if missing)")
    parser.add_argument("--rebuild", action="store_true", help="build the site first even if it exists")
    parser.add_argument("--frames", type=int, default=1000, help="frames measured per backend (default 1000)")
    parser.add_argument("--max-seconds", type=float, default=300.0,
                        help="stop measuring a backend after this long even if --frames is not reached")
    parser.add_argument("--backends", default=",".join(BACKENDS),
                        help=f"comma-separated, from {', '.join(BACKENDS)} (default: all; webgpu if available)")
    parser.add_argument("--out", type=Path, default=Path("bench-results"), help="folder for bench.json and bench.png")


def command(args) -> int:
    backends = [b for b in args.backends.split(",") if b]
    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown:
        raise BuilderError(f"--backends: unknown backend {unknown[0]!r}; choose from {', '.join(BACKENDS)}")
    if args.frames < 1:
        raise BuilderError(f"--frames must be at least 1, got {args.frames}")
    results = run_bench(args.site, frames=args.frames, max_seconds=args.max_seconds, backends=backends,
                        rebuild=args.rebuild)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    plot(results, args.out / "bench.png")
    print(json.dumps(results, indent=2))
    print(summary(results))
    print(f"\nwrote {args.out / 'bench.json'} and {args.out / 'bench.png'}")
    return 0
