"""Measuring one page in Chromium through its `window.demo` status object: frame rate, ms per
stage, first frame, readbacks, growth of tensors, tensor bytes and JS heap, and the page thread's
long tasks; what the browser offers (renderer, WebGPU); and the machine's reference speed. The
site and the baseline expose the same object."""

from __future__ import annotations

import statistics

from builder.measure import browser as harness  # the tests' Chromium harness: the benchmark measures the same way

WARM_UP_FRAMES = 30


def wait_first_frame(demo, timeout_s: float) -> dict:
    """demo.stats() once the first generated frame is shown (read from stats, not demo.ready:
    figures even when ready never resolves)."""
    return demo.wait_for("() => window.demo && window.demo.stats().frames >= 1 && window.demo.stats()",
                         "the first generated frame", timeout_s=timeout_s)

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


# Runs before the page's scripts: every long task (> 50 ms) of the page's thread, in page time.
RECORD_LONG_TASKS = """
window.__longTasks = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__longTasks.push([e.startTime, e.duration]);
}).observe({ type: 'longtask', buffered: true });
"""


def long_tasks(demo, start_ms: float, end_ms: float) -> dict:
    """Long tasks of the page's thread that started in [start_ms, end_ms): per second, and their
    blocking time (the part over 50 ms, as Lighthouse's total blocking time counts it) per second."""
    tasks = demo.page.evaluate("([a, b]) => window.__longTasks.filter(([t]) => t >= a && t < b)", [start_ms, end_ms])
    seconds = max((end_ms - start_ms) / 1000, 1e-9)
    return {"long_tasks_per_second": round(len(tasks) / seconds, 2),
            "blocking_ms_per_second": round(sum(d - 50 for _, d in tasks) / seconds, 1)}


def frames_or_deadline(demo, frames: int, seconds: float) -> tuple[dict, dict]:
    """Wait for `frames` more frames or `seconds`, whichever comes first (a slow backend still
    gets figures); returns {stats, now} at the start and at the end, `now` in page time (ms)."""
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
        context.add_init_script(RECORD_LONG_TASKS)
        demo = harness.open_demo(context, url)
        # (When ready never resolves, ready_at_ms is None: a bug the browser tests catch.)
        first = wait_first_frame(demo, timeout_s=max(120.0, max_seconds))
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
            "workers": after.get("workers", 0),
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
            **long_tasks(demo, start["now"], end["now"]),
        }
    finally:
        context.close()


def first_frames(browser, url: str, loads: int) -> dict:
    """ms from navigation to the first generated frame over `loads` fresh profiles (nothing
    cached), each and their median: one load moves by a few hundred ms on a 2-core machine."""
    each = []
    for _ in range(loads):
        context = harness.new_context(browser, camera=True)
        try:
            each.append(wait_first_frame(harness.open_demo(context, url), timeout_s=120)["firstFrameMs"])
        finally:
            context.close()
    return {"url": url, "loads": loads, "each_ms": each, "median_ms": statistics.median(each)}


def reference_speed(browser, page_url: str) -> dict:
    """The machine's own speed: reference.js's two convolutions on tf.js wasm, one thread."""
    context = harness.new_context(browser, camera=False)
    try:
        demo = harness.open_demo(context, page_url)
        result = demo.wait_for("() => window.reference", "the reference convolution", timeout_s=120)
        if "error" in result:
            raise RuntimeError(f"reference convolution: {result['error']}")
        return result
    finally:
        context.close()


def probe_browser(browser, page_url: str) -> dict:
    """The browser's version, WebGL renderer and whether WebGPU offers an adapter, on page_url's
    origin (any page of it: a secure context)."""
    context = harness.new_context(browser, camera=False)
    try:
        page = context.new_page()
        page.goto(page_url)
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
