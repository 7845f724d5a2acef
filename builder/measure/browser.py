"""A real Chromium on the demo page: launching with a fake camera, waiting on `window.demo`, memory.

Shared by the browser tests (tests/conftest.py) and the benchmark (builder/measure/bench.py), so
both measure the same page the same way. The camera clip itself is camera_clip.py's. Plain
functions over Playwright's sync API; no pytest here.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CHROMIUM_FLAGS = [
    "--no-sandbox",  # containers and CI runners lack the user namespaces the sandbox needs
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--enable-precise-memory-info",
    # Keep timers and rAF at full rate when the headless window is "hidden".
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
    # GPU: whatever Chromium picks (a real GPU, else its own fallback). Never force swiftshader.
]

HOW_TO_GET_CHROMIUM = (
    "no Chromium found: set CHROMIUM_PATH to a Chromium binary, or run `make test`, "
    "which installs Debian's chromium at /usr/bin/chromium"
)


# --- the browser --------------------------------------------------------------------------------

def find_chromium() -> str | None:
    """The Chromium binary to run: $CHROMIUM_PATH (or $LTS_CHROMIUM), else Debian's, else None.

    None means Playwright's own build, if one was installed; `launch_chromium` says what to do
    when there is none.
    """
    for variable in ("CHROMIUM_PATH", "LTS_CHROMIUM"):
        value = os.environ.get(variable)
        if value:
            path = shutil.which(value) or value
            if not Path(path).is_file():
                raise RuntimeError(f"${variable}={value}: no such file; point it at a Chromium binary")
            return path
    for candidate in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if Path(candidate).is_file():
            return candidate
    return None


def chromium_args(fake_camera: Path | None) -> list[str]:
    """Flags for a headless run; with fake_camera, getUserMedia plays that y4m clip.

    No --use-fake-ui-for-media-stream: that flag accepts every camera request, even in a context
    without the permission. Without it, headless Chromium answers getUserMedia from the context's
    permissions: granted (`new_context(camera=True)`) plays the clip, not granted rejects with
    NotAllowedError, exactly like a visitor who clicked "Block". One browser serves both cases.
    """
    args = list(CHROMIUM_FLAGS)
    if fake_camera is not None:
        args += ["--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={fake_camera}"]
    return args


def launch_chromium(playwright, fake_camera: Path | None = None, *, headless: bool = True):
    """A Playwright Browser (Chromium), with the fake camera wired in when given."""
    from playwright.sync_api import Error as PlaywrightError

    executable = find_chromium()
    try:
        return playwright.chromium.launch(executable_path=executable, headless=headless,
                                          args=chromium_args(fake_camera))
    except PlaywrightError as error:
        if executable is None and "Executable doesn't exist" in str(error):
            raise RuntimeError(HOW_TO_GET_CHROMIUM) from None
        raise


def new_context(browser, *, camera: bool = True, width: int = 960, height: int = 720):
    """A fresh profile; camera=False leaves the camera permission ungranted (getUserMedia rejects)."""
    context = browser.new_context(viewport={"width": width, "height": height})
    if camera:
        context.grant_permissions(["camera"])
    return context


# --- the page -----------------------------------------------------------------------------------

# Runs before the page's own scripts (injected by the browser, so the page's CSP does not apply).
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'}` +
                              ` at ${e.sourceFile || '?'}:${e.lineNumber}`);
});
"""


@dataclass
class PageLog:
    """What went wrong on a page: console errors, uncaught exceptions, failed requests."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)  # substrings of errors a test provoked

    def attach(self, page) -> None:
        page.on("console", lambda m: m.type == "error" and self.console_errors.append(_describe(m)))
        page.on("pageerror", lambda e: self.page_errors.append(f"{e.name}: {e.message}"))
        page.on("requestfailed", lambda r: self.failed_requests.append(f"{r.url} ({r.failure})"))

    def problems(self) -> list[str]:
        found = [f"console: {m}" for m in self.console_errors] + [f"uncaught: {m}" for m in self.page_errors]
        return [p for p in found if not any(e in p for e in self.expected)]


def _describe(message) -> str:
    location = message.location or {}
    where = f" ({location.get('url', '')}:{location.get('lineNumber', '')})" if location.get("url") else ""
    return message.text + where


class DemoPage:
    """The demo page in one tab, seen through `window.demo` (see ARCHITECTURE.md)."""

    def __init__(self, page, log: PageLog):
        self.page, self.log = page, log
        self._cdp = None

    def stats(self) -> dict:
        return self.page.evaluate("() => window.demo.stats()")

    def csp_violations(self) -> list[str]:
        return self.page.evaluate("() => window.__cspViolations || []")

    def problems(self) -> list[str]:
        """Console errors, uncaught exceptions and CSP violations not marked expected."""
        return self.log.problems() + [f"CSP: {v}" for v in self.csp_violations()]

    def wait_for(self, predicate_js: str, what: str, timeout_s: float = 60, arg=None):
        """Wait until predicate_js (a JS function of arg, maybe async) is truthy; return its value.

        On timeout, the AssertionError names what was awaited and shows demo.stats() and the
        page's errors, which usually say why.
        """
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            handle = self.page.wait_for_function(predicate_js, arg=arg, timeout=timeout_s * 1000)
        except PlaywrightTimeout:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}; "
                                 f"{self._diagnosis()}") from None
        return handle.json_value()

    def wait_ready(self, timeout_s: float = 90) -> dict:
        """Wait for demo.ready (first generated frame on screen); return demo.stats()."""
        self.wait_for("() => window.demo !== undefined", "window.demo to exist", timeout_s)
        return self.wait_for("async () => { await window.demo.ready; return window.demo.stats(); }",
                             "demo.ready", timeout_s)

    def wait_frames(self, count: int, timeout_s: float = 90) -> dict:
        """Wait until demo.stats().frames >= count; return demo.stats()."""
        return self.wait_for("(n) => { const s = window.demo.stats(); return s.frames >= n && s; }",
                             f"demo.stats().frames >= {count}", timeout_s, arg=count)

    def wait_more_frames(self, count: int, timeout_s: float = 90) -> dict:
        return self.wait_frames(self.stats()["frames"] + count, timeout_s)

    def heap_after_gc_bytes(self) -> int:
        """JS heap in use after a full garbage collection (CDP), in bytes."""
        if self._cdp is None:
            self._cdp = self.page.context.new_cdp_session(self.page)
            self._cdp.send("Performance.enable")
        for _ in range(2):  # a second pass frees what the first pass's finalizers released
            self._cdp.send("HeapProfiler.collectGarbage")
        metrics = self._cdp.send("Performance.getMetrics")["metrics"]
        return int(next(m["value"] for m in metrics if m["name"] == "JSHeapUsedSize"))

    def screenshot_rgb(self, selector: str) -> np.ndarray:
        """(h, w, 3) uint8 pixels of an element as composited on screen (any canvas kind)."""
        from io import BytesIO

        from PIL import Image

        # A clip of the page, not an element screenshot: that one waits for the element to be
        # "stable" over animation frames, which a slow software-rendered page may never give.
        box = self.page.locator(selector).first.bounding_box()
        if box is None:
            raise AssertionError(f"{selector} is not on screen; {self._diagnosis()}")
        png = self.page.screenshot(clip=box, animations="allow")
        return np.asarray(Image.open(BytesIO(png)).convert("RGB"))

    def _diagnosis(self) -> str:
        try:
            stats = self.page.evaluate("() => window.demo ? window.demo.stats() : 'window.demo is undefined'")
        except Exception as error:  # the page itself may be gone
            stats = f"unavailable ({error})"
        problems = self.problems() if not self.page.is_closed() else self.log.problems()
        return f"demo.stats() = {json.dumps(stats, default=str)}; page errors: {problems or 'none'}"


def open_demo(context, url: str) -> DemoPage:
    """A new tab on url, recording errors and CSP violations from the first byte on."""
    page = context.new_page()
    log = PageLog()
    log.attach(page)
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    page.goto(url, wait_until="load")
    return DemoPage(page, log)
