"""Lighthouse (npm, pinned in package-lock.json) on the built page, with the same headless
Chromium: the performance, accessibility and best-practices scores, and the figures behind
performance. Lighthouse's own default: a mid-range phone, its CPU slowed 4x, simulated. It opens
the page without camera permission, so it measures the demo animation running, as a visitor sees
it who has not (yet) allowed the camera."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

from builder import REPO_ROOT
from builder.measure.browser import CHROMIUM_FLAGS, find_chromium

CATEGORIES = ("performance", "accessibility", "best-practices")
FIGURES = ("first-contentful-paint", "largest-contentful-paint", "total-blocking-time", "speed-index",
           "cumulative-layout-shift", "interactive")


# Lighthouse's own words for a trace it failed to record (NO_NAVSTART and kin, lh-error.js's
# badTraceRecording): a fault of the run, not of the page, which it asks to be run again. Seen
# twice in about a dozen CI runs on a 2-core machine.
RUN_AGAIN = "Please run Lighthouse again"


def lighthouse(url: str, timeout_s: float = 300, attempts: int = 3) -> dict:
    """Scores (0..1) per category and the performance figures (ms; CLS unitless). A run whose
    trace Lighthouse failed to record is run again, up to `attempts` in all; any other error is
    returned at once."""
    for attempt in range(1, attempts + 1):
        result = _run_once(url, timeout_s)
        if RUN_AGAIN not in result.get("error", ""):
            break
    return {**result, "attempts": attempt}


def _run_once(url: str, timeout_s: float) -> dict:
    binary = REPO_ROOT / "node_modules" / ".bin" / "lighthouse"
    if not binary.exists():
        return {"skipped": f"{binary.relative_to(REPO_ROOT)} is missing: run `npm ci`"}
    chromium = find_chromium()
    env = {**os.environ, **({"CHROME_PATH": chromium} if chromium else {})}
    flags = " ".join(["--headless=new", *CHROMIUM_FLAGS])
    with tempfile.TemporaryDirectory(prefix="lighthouse-") as tmp:
        report = Path(tmp) / "report.json"
        done = subprocess.run([str(binary), url, "--quiet", f"--chrome-flags={flags}",
                               f"--only-categories={','.join(CATEGORIES)}", "--output=json",
                               f"--output-path={report}"], env=env, capture_output=True, text=True,
                              timeout=timeout_s)
        if done.returncode != 0 or not report.is_file():
            lines = (done.stderr or done.stdout).strip().splitlines()
            return {"error": lines[-1] if lines else f"lighthouse exited {done.returncode}"}
        data = json.loads(report.read_text())
    return {
        "scores": {name.replace("-", "_"): data["categories"][name]["score"] for name in CATEGORIES},
        "figures": {name.replace("-", "_"): round(data["audits"][name]["numericValue"], 3) for name in FIGURES},
        "settings": {"form_factor": data["configSettings"]["formFactor"],
                     "throttling": data["configSettings"]["throttlingMethod"],
                     "cpu_slowdown": data["configSettings"]["throttling"]["cpuSlowdownMultiplier"]},
    }
