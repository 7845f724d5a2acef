"""The benchmark's report: each figure against its target, a plot, a table for the terminal."""

from __future__ import annotations

from pathlib import Path

TARGETS = {
    "auto_fps": (">=", 15.0, "fps, auto backend at 256 px"),
    "speedup_vs_baseline": (">=", 3.0, "x the tf.js-defaults baseline (fps, auto backend)"),
    "workers_speedup": (">=", 1.7, "x fps of N frame workers (wasm) over 1 (wasm-1)"),
    "single_worker_inference_ms": ("<=", 90.0, "ms of inference a frame in one frame worker (wasm-1)"),
    "first_frame_ms": ("<=", 1000.0, "ms from navigation to the first generated frame (auto; median of 5 loads)"),
    "lighthouse_performance": (">=", 0.9, "Lighthouse performance score (phone, CPU slowed 4x)"),
    "lighthouse_accessibility": ("==", 1.0, "Lighthouse accessibility score"),
    "lighthouse_best_practices": ("==", 1.0, "Lighthouse best-practices score"),
    "tensor_growth": ("==", 0, "tensors gained over the measured frames (every backend)"),
    "tensor_bytes_growth": ("==", 0, "tensor bytes gained over the measured frames (every backend)"),
    "heap_growth_bytes": ("<", 1_000_000, "bytes of JS heap gained after GC over the measured frames"),
}


def check_targets(results: dict) -> dict:
    """Each target with the measured value and whether it is met (None: not measured)."""
    auto = results["backends"].get("auto", {})
    workers, one = results["backends"].get("wasm", {}), results["backends"].get("wasm-1", {})
    baseline = results.get("baseline", {})
    measured = {name: b for name, b in results["backends"].items() if "fps" in b}
    values = {
        "auto_fps": auto.get("fps"),
        "speedup_vs_baseline": (round(auto["fps"] / baseline["fps"], 2)
                                if auto.get("fps") and baseline.get("fps") else None),
        "workers_speedup": (round(workers["fps"] / one["fps"], 2)
                            if workers.get("fps") and one.get("fps") else None),
        "single_worker_inference_ms": (one.get("stage_ms") or {}).get("inference"),
        **{f"lighthouse_{name}": (results.get("lighthouse", {}).get("scores") or {}).get(name)
           for name in ("performance", "accessibility", "best_practices")},
        "first_frame_ms": results.get("first_frame", {}).get("median_ms", auto.get("first_frame_ms")),
        "tensor_growth": max((b["tensor_growth"] for b in measured.values()), key=abs, default=None),
        "tensor_bytes_growth": max((b["tensor_bytes_growth"] for b in measured.values()), key=abs, default=None),
        "heap_growth_bytes": max((b["heap_growth_bytes"] for b in measured.values()), default=None),
    }
    compare = {">=": lambda v, t: v >= t, "<=": lambda v, t: v <= t, "<": lambda v, t: v < t,
               "==": lambda v, t: v == t}
    checks = {name: {"value": values[name], "target": f"{op} {target}", "what": what,
                     "met": None if values[name] is None else compare[op](values[name], target)}
              for name, (op, target, what) in TARGETS.items()}
    if auto.get("backend") and baseline.get("backend") and auto["backend"] != baseline["backend"]:
        checks["speedup_vs_baseline"]["note"] = (
            f"auto runs {auto['backend']}, the baseline tf.js's default {baseline['backend']}: "
            "the ratio includes the choice of backend")
    return checks


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
                 f"{results['cpus']} CPUs{processor_words(results.get('processor'))}, {results['date']}", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def processor_words(cpu: dict | None) -> str:
    if not cpu:
        return ""
    return (f" ({cpu['name']}, family {cpu['family']} model {cpu['model']}, {cpu['mhz']} MHz"
            f"{', AVX-512' if cpu['avx512'] else ''})")


def summary(results: dict) -> str:
    """A table of each run's figures, then each target with its value and whether it is met."""
    machine = results.get("machine", {})
    fine = machine.get("fine", {})
    lines = ["", f"machine: {machine.get('gflops', '?')} GFLOP/s on one convolution ({machine.get('conv', '?')}, "
                 f"tf.js wasm, one thread), {fine.get('gflops', '?')} on the finest level's ({fine.get('conv', '?')}); "
                 f"{results['cpus']} CPUs{processor_words(results.get('processor'))}",
             "", f"{'backend':<10} {'fps':>7} {'frames':>7} {'first ms':>9} {'readbacks':>9} {'Δtensors':>9} "
                 f"{'Δbytes':>8} {'Δheap KB':>9} {'long/s':>7} {'GFLOP/s':>8}  stage ms"]
    runs = {**results["backends"], "baseline": results.get("baseline", {})}
    for name, b in runs.items():
        if "fps" not in b:
            lines.append(f"{name:<10} {b.get('skipped') or b.get('error', 'not run')}")
            continue
        stages = ", ".join(f"{k} {float(v):.1f}" for k, v in (b["stage_ms"] or {}).items())
        lines.append(f"{name:<10} {b['fps']:>7.1f} {b['frames_measured']:>7} {b['first_frame_ms'] or 0:>9.0f} {b['readbacks_per_frame']:>9} "
                     f"{b['tensor_growth']:>9} {b['tensor_bytes_growth']:>8} {b['heap_growth_bytes'] / 1024:>9.0f}"
                     f" {b.get('long_tasks_per_second', '-')!s:>7} {b.get('model_gflops_per_s', '-')!s:>8}  {stages}")
    lines.append("")
    for name, check in results["checks"].items():
        mark = {True: "ok  ", False: "MISS", None: "n/a "}[check["met"]]
        lines.append(f"{mark} {name:<20} {check['value']!s:>10}  target {check['target']:<12} {check['what']}")
        if check.get("note"):
            lines.append(f"     {'':<20} {'':>10}  note: {check['note']}")
    return "\n".join(lines)
