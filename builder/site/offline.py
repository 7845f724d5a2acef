"""What makes the site start without the network after one visit, and installable: a service
worker (templates/sw.js, rendered with the files to keep), a web app manifest and its icons.

The service worker keeps the page and its assets at install time; everything but index.html has
a content-hashed name, so a kept file never goes stale, and index.html is asked of the network
first, so a new deploy shows on the next visit. Models are kept by the page's own model cache
(js/model_cache.js), which the worker also answers from."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

from builder.site.render import render

ICON_SIZES = (192, 512)
THUMB_PX = 112  # the picker shows 56 CSS px: sharp at a device pixel ratio of 2
MANIFEST = "site.webmanifest"
SERVICE_WORKER = "sw.js"  # at the root: its scope is the whole site
# Not kept ahead: the threaded wasm build never runs under this CSP (js/frame/device.js).
NOT_PRECACHED = ("tfjs-backend-wasm-threaded-simd", ".learning-to-see-site")


def _square(preview: Path):
    """The preview's centre square, RGB."""
    from PIL import Image

    with Image.open(preview) as opened:
        image = opened.convert("RGB")
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    return image.crop((left, top, left + side, top + side))


def thumbnail(preview: Path) -> bytes:
    """The model picker's picture of a model: its preview as a THUMB_PX-square JPEG (a few KB, where
    the preview is a 100+ KB PNG that the page would otherwise fetch once per model at load)."""
    from PIL import Image

    buffer = io.BytesIO()
    _square(preview).resize((THUMB_PX, THUMB_PX), Image.Resampling.LANCZOS).save(
        buffer, format="JPEG", quality=82, optimize=True)
    return buffer.getvalue()


def icons(preview: Path | None) -> dict[str, bytes]:
    """Square PNG icons from the default model's preview (a dark gradient when it has none)."""
    from PIL import Image

    if preview is not None and preview.is_file():
        image = _square(preview)
    else:
        image = Image.linear_gradient("L").convert("RGB").resize((64, 64))
    out = {}
    for size in ICON_SIZES:
        buffer = io.BytesIO()
        image.resize((size, size), Image.Resampling.LANCZOS).save(buffer, format="PNG", optimize=True)
        out[f"icon-{size}.png"] = buffer.getvalue()
    return out


def web_manifest(title: str, description: str, icon_paths: dict[int, str]) -> bytes:
    manifest = {
        "name": title, "short_name": title, "description": description,
        "start_url": "./", "scope": "./", "display": "standalone",
        "background_color": "#0b0c10", "theme_color": "#0b0c10",
        "icons": [{"src": path, "sizes": f"{size}x{size}", "type": "image/png", "purpose": "any"}
                  for size, path in sorted(icon_paths.items())],
    }
    return (json.dumps(manifest, indent=2) + "\n").encode()


def service_worker(templates: Path, precache: list[str]) -> bytes:
    """sw.js keeping `precache` (site-relative paths); its cache is named by their list, so a
    deploy that changes any file makes a new cache and drops the old one."""
    keep = sorted(p for p in precache if not any(skip in p for skip in NOT_PRECACHED))
    version = hashlib.sha256("\n".join(keep).encode()).hexdigest()[:12]
    return render(templates, SERVICE_WORKER, {"precache_json": json.dumps(["./", *keep]),
                                              "version": version}).encode()
