"""python -m builder bench: frame rate, latency and memory of the demo in headless Chromium.

One run measures, side by side on the same machine, camera clip and model:
  - the machine's own speed: one large convolution on tf.js wasm, one thread (GFLOP/s), and the
    model's achieved GFLOP/s as a fraction of it (figures from two machines compare only so);
  - the site on each path (auto; webgl; wasm in N frame workers, in 1, and in the page; webgpu
    when the browser offers an adapter): end-to-end fps, ms per stage (demo.stats().stageMs),
    first generated frame after load (and its median over 5 fresh loads of the automatic
    path), readbacks per frame, the page thread's long tasks, and
    growth of tensors, tensor bytes and JS heap over --frames frames;
  - Lighthouse's performance, accessibility and best-practices scores of the page (lighthouse.py);
  - a BASELINE: the same model.json run the way tf.js does by default (fromPixels -> tf.image
    crop/grayscale/resizeBilinear -> predict -> toPixels, default backend), a page bundled here
    at bench time and served beside the site, so the figure that matters is a ratio.

Writes bench-results/bench.json and bench-results/bench.png and prints the JSON, then each
figure next to its target. The pages are pages.py's, the measuring measuring.py's, the targets
and the report report.py's; this module runs them in order.
"""

from __future__ import annotations

import datetime
import json
import os
import tempfile
import time
from pathlib import Path

from builder.errors import BuilderError
from builder.measure import browser as harness
from builder.measure import pages
from builder.measure.camera_clip import write_fake_camera_y4m
from builder.measure.lighthouse import lighthouse
from builder.measure.measuring import first_frames, measure, probe_browser, reference_speed
from builder.measure.report import check_targets, plot, summary
from builder.site.serve import serving

# The paths measured: name -> the page's query.
BACKENDS = {
    "auto": "",                              # what a visitor gets
    "webgl": "?backend=webgl",
    "wasm": "?backend=wasm",                 # frame workers, one per core (up to 4)
    "wasm-1": "?backend=wasm&workers=1",     # one frame worker: what N workers are compared with
    "wasm-page": "?backend=wasm&workers=0",  # WebAssembly on the page's thread
    "webgpu": "?backend=webgpu",
}
CAMERA = {"width": 640, "height": 480, "fps": 60}  # the clip Chromium plays as the camera
CAMERA_FRAMES = 120  # 2 s at 60 fps, looping
FIRST_FRAME_LOADS = 5  # the first-frame figure is their median


def processor(cpuinfo: str) -> dict | None:
    """The first processor of /proc/cpuinfo's text: its name, family and model (which tell the
    generation where a virtual machine's name does not: AMD family 23 is Zen 1 and 2, 25 Zen 3
    and 4), clock and whether it has AVX-512. None where the text has no processor."""
    first = {key.strip(): value.strip() for key, colon, value in
             (line.partition(":") for line in cpuinfo.split("\n\n")[0].splitlines()) if colon}
    if "model name" not in first:
        return None

    def number(key: str) -> int | None:
        return int(first[key]) if first.get(key, "").isdigit() else None

    mhz = first.get("cpu MHz")
    return {"name": first["model name"], "family": number("cpu family"), "model": number("model"),
            "mhz": round(float(mhz)) if mhz else None, "avx512": "avx512f" in first.get("flags", "").split()}


def this_processor() -> dict | None:
    try:
        return processor(Path("/proc/cpuinfo").read_text())
    except OSError:  # not Linux
        return None


def run_bench(site_dir: Path, *, frames: int, max_seconds: float, backends: list[str],
              rebuild: bool = False, with_lighthouse: bool = True,
              first_frame_loads: int = FIRST_FRAME_LOADS) -> dict:
    from playwright.sync_api import sync_playwright

    pages.ensure_site(site_dir, rebuild)
    model = pages.default_model(pages.read_runtime_config(site_dir))
    size = model["meta"]["input"]["size"]
    if size != 256:
        print(f"note: the default model {model['name']!r} is {size} px, not 256; targets assume 256")

    results = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "processor": this_processor(),
        "model": {"name": model["name"], "size": size, "bytes": model.get("bytes"), "dtype": model.get("dtype")},
        "frames_requested": frames,
        "max_seconds": max_seconds,
        "camera": dict(CAMERA),
        "backends": {},
    }
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, sync_playwright() as driver:
        work = Path(tmp)
        camera = write_fake_camera_y4m(work / "camera.y4m", **CAMERA, frames=CAMERA_FRAMES)
        root = pages.bench_root(site_dir, work)
        with serving(root) as url:
            browser = harness.launch_chromium(driver, camera)
            try:
                results["browser"] = probe_browser(browser, f"{url}{pages.BASELINE_PAGE}?probe")
                print("measuring the machine's reference convolution ...", flush=True)
                results["machine"] = reference_speed(browser, f"{url}{pages.REFERENCE_PAGE}")
                print(f"timing the first frame over {first_frame_loads} fresh loads ...", flush=True)
                results["first_frame"] = first_frames(browser, f"{url}{BACKENDS['auto']}", first_frame_loads)
            finally:
                browser.close()

            runs = [(b, f"{url}{BACKENDS[b]}") for b in backends]
            runs.append(("baseline", pages.baseline_url(url, model)))
            for name, page_url in runs:
                if name == "webgpu" and not results["browser"]["webgpu"]:
                    results["backends"][name] = {"skipped": "no WebGPU adapter in this browser"}
                    continue
                print(f"measuring {name} ...", flush=True)
                started = time.monotonic()
                browser = harness.launch_chromium(driver, camera)  # fresh process: no shader cache shared
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

            if with_lighthouse:
                print("running Lighthouse ...", flush=True)
                results["lighthouse"] = lighthouse(url)
    add_model_speed(results, model["meta"].get("flops"))
    results["checks"] = check_targets(results)
    return results


def add_model_speed(results: dict, flops: int | None) -> None:
    """Each run's achieved GFLOP/s (meta.json's flops over its inference ms), as a fraction of the
    machine's reference convolution."""
    reference = results.get("machine", {}).get("gflops")
    for run in results["backends"].values():
        inference = (run.get("stage_ms") or {}).get("inference")
        if flops and inference:
            run["model_gflops_per_s"] = round(flops / (inference / 1000) / 1e9, 2)
            if reference:
                run["fraction_of_reference"] = round(run["model_gflops_per_s"] / reference, 3)


def add_arguments(parser) -> None:
    parser.add_argument("--site", type=Path, default=Path("site"),
                        help="built site to measure (built with the committed models if missing)")
    parser.add_argument("--rebuild", action="store_true", help="build the site first even if it exists")
    parser.add_argument("--frames", type=int, default=1000, help="frames measured per backend (default 1000)")
    parser.add_argument("--max-seconds", type=float, default=300.0,
                        help="stop measuring a backend after this long even if --frames is not reached")
    parser.add_argument("--backends", default=",".join(BACKENDS),
                        help=f"comma-separated, from {', '.join(BACKENDS)} (default: all; webgpu if available)")
    parser.add_argument("--no-lighthouse", action="store_true", help="skip the Lighthouse run (about a minute)")
    parser.add_argument("--out", type=Path, default=Path("bench-results"), help="folder for bench.json and bench.png")


def command(args) -> int:
    backends = [b for b in args.backends.split(",") if b]
    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown:
        raise BuilderError(f"--backends: unknown backend {unknown[0]!r}; choose from {', '.join(BACKENDS)}")
    if args.frames < 1:
        raise BuilderError(f"--frames must be at least 1, got {args.frames}")
    results = run_bench(args.site, frames=args.frames, max_seconds=args.max_seconds, backends=backends,
                        rebuild=args.rebuild, with_lighthouse=not args.no_lighthouse)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    plot(results, args.out / "bench.png")
    print(json.dumps(results, indent=2))
    print(summary(results))
    print(f"\nwrote {args.out / 'bench.json'} and {args.out / 'bench.png'}")
    return 0
