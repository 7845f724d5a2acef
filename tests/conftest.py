"""Session fixtures: built sites, a server with netlify.toml's headers, a fake camera, Chromium.

Browser tests use a site built from two tiny untrained 64 px models (fast frames, a model to
switch to); tests that need the committed models ask for `real_site` / `real_server`.
"""

import contextlib
import fcntl
import hashlib
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # `pytest` from anywhere imports `builder`
    sys.path.insert(0, str(REPO_ROOT))

from builder.atomic import new_dir  # noqa: E402
from builder.measure.browser import DemoPage, launch_chromium, new_context, open_demo  # noqa: E402
from builder.measure.camera_clip import write_fake_camera_y4m  # noqa: E402

# name -> colour tint of the tiny model's output; distinct, so a switch shows. Default first.
TINY_MODELS = {"tiny_a": (2.0, 0.6, -1.2), "tiny_b": (-1.2, 0.4, 2.0)}
TINY_LEVELS = {"tiny_b": (0.6, 0.12)}  # name -> input levels (mean, sd) its meta.json names


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: runs a real Chromium on the built site (deselect: -m 'not browser')")
    config.addinivalue_line("markers", "timed: its result depends on how fast things run (a floor, a ratio of two "
                            "times, frames keeping a camera's pace), so `make test` runs it with nothing beside it, "
                            "after the tests it runs in parallel")


def pytest_collection_modifyitems(items):
    for item in items:  # tests that start a browser of their own carry the mark themselves
        if {"chromium", "playwright_driver"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)


# --- sites --------------------------------------------------------------------------------------

@contextlib.contextmanager
def one_process_at_a_time():
    """Held while a session fixture fills the repository's shared caches (.cache/test-models,
    .cache/convert): with `pytest -n`, the other processes wait, then find the cache filled,
    instead of converting the same model at once and swapping each other's copy away. (The tiny
    site converts into its own temporary cache, and the build's other shared files are written
    whole, by rename, so it needs no lock.)"""
    lock = REPO_ROOT / ".cache" / "test-fixtures.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        yield


def _build(config, out_dir: Path) -> Path:
    from builder.site.build import build_site

    build_site(config, out_dir)
    if not (out_dir / "index.html").is_file():
        raise AssertionError(f"build_site wrote no {out_dir / 'index.html'}")
    return out_dir


def builder_source_hash() -> "hashlib._Hash":
    """A hash of every file of builder/: the cache key of what its code makes (no hand-kept list)."""
    key = hashlib.sha256()
    for path in sorted((REPO_ROOT / "builder").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            key.update(path.relative_to(REPO_ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return key


@pytest.fixture(scope="session")
def tiny_models_dir() -> Path:
    """models/ holding the tiny untrained generators (64 px) with their meta.json.

    Exporting them costs most of a minute (TensorFlow, the SavedModel, the evidence plots), so
    they are kept in .cache/test-models/, keyed by the exporting code and TINY_MODELS.
    """
    key = builder_source_hash()
    key.update(repr((sorted(TINY_MODELS.items()), sorted(TINY_LEVELS.items()))).encode())
    models_dir = REPO_ROOT / ".cache" / "test-models" / key.hexdigest()[:16]
    with one_process_at_a_time():
        if not models_dir.is_dir():
            from builder.training.tiny import tiny_model

            with new_dir(models_dir) as work:  # complete or absent, even if interrupted
                for seed, (name, tint) in enumerate(TINY_MODELS.items()):
                    tiny_model(work, name=name, size=64, seed=seed, tint=tint, levels=TINY_LEVELS.get(name))
    return models_dir


@pytest.fixture(scope="session")
def built_site(tmp_path_factory, tiny_models_dir) -> Path:
    """A site built once per session from the tiny models, into a temporary folder."""
    from builder.config import SiteConfig

    work = tmp_path_factory.mktemp("tiny-site")
    config = SiteConfig(models=tuple(TINY_MODELS), default_model=next(iter(TINY_MODELS)),
                        models_dir=str(tiny_models_dir),
                        out_dir=str(work / "site"), cache_dir=str(work / "convert-cache"))
    return _build(config, work / "site")


@pytest.fixture(scope="session")
def real_site(tmp_path_factory) -> Path:
    """The site as `python -m builder build` makes it from the committed models and config."""
    import dataclasses

    from builder import config as cfg

    site_toml = REPO_ROOT / "site.toml"
    config = cfg.load(cfg.SiteConfig, site_toml if site_toml.is_file() else None)
    # Relative folders in the config mean the repository's, wherever pytest runs from.
    config = dataclasses.replace(config, models_dir=str(REPO_ROOT / config.models_dir),
                                 cache_dir=str(REPO_ROOT / config.cache_dir))
    with one_process_at_a_time():  # it converts into the repository's .cache/convert
        return _build(config, tmp_path_factory.mktemp("real-site") / "site")


# --- servers ------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def server(built_site) -> str:
    """Base URL (ending in '/') of the tiny-model site, served with netlify.toml's headers."""
    from builder.site.serve import serving

    with serving(built_site) as url:
        yield url


@pytest.fixture(scope="session")
def real_server(real_site) -> str:
    from builder.site.serve import serving

    with serving(real_site) as url:
        yield url


# --- browser ------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def fake_camera_y4m(tmp_path_factory) -> Path:
    """A generated 3 s clip (320x240, 30 fps, 4:2:0) that Chromium plays as the webcam."""
    return write_fake_camera_y4m(tmp_path_factory.mktemp("camera") / "camera.y4m")


@pytest.fixture(scope="session")
def playwright_driver():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def chromium(playwright_driver, fake_camera_y4m):
    """One headless Chromium for the session; each test gets a fresh context (profile)."""
    browser = launch_chromium(playwright_driver, fake_camera_y4m)
    yield browser
    browser.close()


@pytest.fixture
def camera_context(chromium):
    """A fresh profile in which the camera is allowed (it plays the fake clip)."""
    context = new_context(chromium, camera=True)
    yield context
    context.close()


@pytest.fixture
def denied_context(chromium):
    """A fresh profile in which getUserMedia rejects with NotAllowedError (camera blocked)."""
    context = new_context(chromium, camera=False)
    yield context
    context.close()


@pytest.fixture
def open_page(camera_context, server):
    """open_page(query='') -> DemoPage on the tiny-model site in the camera-allowed context."""
    def open_(query: str = "", context=None) -> DemoPage:
        return open_demo(context or camera_context, server + query)

    return open_
