"""builder.site.serve: a real server on a free port, real HTTP requests, the repository's netlify.toml."""

import http.client
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

from builder.errors import BuilderError, ConfigError
from builder.site.serve import NETLIFY_TOML, headers_for_path, load_headers, serving

IMMUTABLE = "public, max-age=31536000, immutable"


@pytest.fixture(scope="module")
def site_url(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    files = {
        "index.html": b"<!doctype html><title>t</title>",
        "about.html": b"<!doctype html><title>about</title>",
        "manifest.json": b"{}",
        "assets/main.1a2b3c4d.js": b"console.log(1)",
        "assets/style.1a2b3c4d.css": b"body{}",
        "assets/tfjs-backend-wasm-simd.1a2b3c4d.wasm": b"\0asm\1\0\0\0",
        "models/tiny/model.1a2b3c4d.json": b'{"format": "graph-model"}',
        "models/tiny/group1-shard1of1.1a2b3c4d.bin": bytes(range(256)),
        "models/tiny/preview.1a2b3c4d.png": b"\x89PNG\r\n\x1a\n",
        "camera.y4m": b"YUV4MPEG2 W2 H2 F30:1 Ip A1:1 C420jpeg\n",
    }
    for name, body in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(body)
    with serving(root) as url:
        yield url


def fetch(base_url, path, method="GET"):
    """(status, headers with lower-case names, body) of one request, redirects not followed."""
    parts = urllib.parse.urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        connection.close()


def test_netlify_toml_rules_are_read_in_order():
    rules = load_headers(NETLIFY_TOML)
    patterns = [pattern for pattern, _ in rules]
    assert patterns[0] == "/*"
    assert {"/", "/*.html", "/assets/*", "/models/*"} <= set(patterns)
    assert all(isinstance(v, str) for _, values in rules for v in values.values())


@pytest.mark.parametrize("pattern, path, matches", [
    ("/*", "/", True),
    ("/*", "/assets/main.js", True),
    ("/", "/", True),
    ("/", "/index.html", False),
    ("/*.html", "/index.html", True),
    ("/*.html", "/docs/page.html", True),
    ("/*.html", "/index.htm", False),
    ("/assets/*", "/assets/main.1a2b.js", True),
    ("/assets/*", "/assets/", True),
    ("/assets/*", "/assets", True),
    ("/assets/*", "/models/x.bin", False),
    ("/models/:name/model.json", "/models/tiny/model.json", True),
    ("/models/:name/model.json", "/models/a/b/model.json", False),
    ("/Assets/*", "/assets/x", True),  # Netlify ignores case
])
def test_for_patterns_match_like_netlify(tmp_path, pattern, path, matches):
    toml = tmp_path / "netlify.toml"
    toml.write_text(f'[[headers]]\n  for = "{pattern}"\n  [headers.values]\n    X-Hit = "yes"\n')
    assert (headers_for_path(load_headers(toml), path) == {"X-Hit": "yes"}) is matches


def test_later_rules_add_and_override(tmp_path):
    toml = tmp_path / "netlify.toml"
    toml.write_text(
        '[[headers]]\n for = "/*"\n [headers.values]\n  A = "1"\n  B = "1"\n'
        '[[headers]]\n for = "/x/*"\n [headers.values]\n  B = "2"\n  C = "2"\n'
    )
    rules = load_headers(toml)
    assert headers_for_path(rules, "/x/y") == {"A": "1", "B": "2", "C": "2"}
    assert headers_for_path(rules, "/y") == {"A": "1", "B": "1"}


def test_bad_netlify_toml_names_the_field(tmp_path):
    toml = tmp_path / "netlify.toml"
    toml.write_text('[[headers]]\n for = "assets/*"\n')
    with pytest.raises(ConfigError, match=r"headers\[0\]\.for"):
        load_headers(toml)
    with pytest.raises(ConfigError, match="not found"):
        load_headers(tmp_path / "missing.toml")


def test_missing_site_folder_says_to_build(tmp_path):
    with pytest.raises(BuilderError, match="builder build"):
        with serving(tmp_path / "site"):
            pass


@pytest.mark.parametrize("path", ["/", "/index.html", "/assets/main.1a2b3c4d.js",
                                  "/models/tiny/group1-shard1of1.1a2b3c4d.bin"])
def test_every_response_is_cross_origin_isolated_under_csp(site_url, path):
    status, headers, _ = fetch(site_url, path)
    assert status == 200
    assert headers["cross-origin-opener-policy"] == "same-origin"
    assert headers["cross-origin-embedder-policy"] == "require-corp"
    assert headers["x-content-type-options"] == "nosniff"
    csp = headers["content-security-policy"]
    assert "default-src 'self'" in csp and "'wasm-unsafe-eval'" in csp
    assert "unsafe-inline" not in csp


@pytest.mark.parametrize("path, cache_control", [
    ("/", "no-cache"),
    ("/index.html", "no-cache"),
    ("/about.html?x=1", "no-cache"),
    ("/assets/main.1a2b3c4d.js", IMMUTABLE),
    ("/assets/tfjs-backend-wasm-simd.1a2b3c4d.wasm", IMMUTABLE),
    ("/models/tiny/model.1a2b3c4d.json", IMMUTABLE),
    ("/models/tiny/group1-shard1of1.1a2b3c4d.bin", IMMUTABLE),
])
def test_cache_control_per_path(site_url, path, cache_control):
    status, headers, _ = fetch(site_url, path)
    assert status == 200
    assert headers["cache-control"] == cache_control


def test_unhashed_files_are_not_immutable(site_url):
    _, headers, _ = fetch(site_url, "/manifest.json")
    assert "immutable" not in headers.get("cache-control", "")


@pytest.mark.parametrize("path, mime", [
    ("/", "text/html"),
    ("/assets/main.1a2b3c4d.js", "text/javascript"),
    ("/assets/style.1a2b3c4d.css", "text/css"),
    ("/assets/tfjs-backend-wasm-simd.1a2b3c4d.wasm", "application/wasm"),
    ("/models/tiny/model.1a2b3c4d.json", "application/json"),
    ("/models/tiny/group1-shard1of1.1a2b3c4d.bin", "application/octet-stream"),
    ("/models/tiny/preview.1a2b3c4d.png", "image/png"),
    ("/camera.y4m", "video/x-yuv4mpeg"),
])
def test_mime_types(site_url, path, mime):
    status, headers, _ = fetch(site_url, path)
    assert status == 200
    assert headers["content-type"].split(";")[0] == mime


def test_body_and_length_are_the_file(site_url):
    status, headers, body = fetch(site_url, "/models/tiny/group1-shard1of1.1a2b3c4d.bin")
    assert status == 200 and body == bytes(range(256))
    assert headers["content-length"] == "256"


@pytest.mark.parametrize("path", ["/missing.js", "/assets/missing.1a2b3c4d.js", "/models/"])
def test_missing_files_and_folders_are_404(site_url, path):
    status, headers, _ = fetch(site_url, path)
    assert status == 404
    assert headers["content-security-policy"]  # error pages get the site's headers too


def test_paths_cannot_escape_the_site(site_url):
    status, _, body = fetch(site_url, "/../netlify.toml")
    assert status == 404 and b"[[headers]]" not in body


def test_a_nul_in_the_path_is_a_400_without_a_traceback(site_url, capfd):
    status, headers, _ = fetch(site_url, "/%00")
    assert status == 400 and headers["content-security-policy"]
    assert fetch(site_url, "/index.html")[0] == 200  # the server goes on serving
    assert "Traceback" not in capfd.readouterr().err


@pytest.mark.parametrize("port", ["70000", "-1"])
def test_a_port_out_of_range_is_one_line(tmp_path, port):
    done = subprocess.run([sys.executable, "-m", "builder", "serve", "--site", str(tmp_path), "--port", port],
                          capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent, timeout=60)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--port" in lines[0] and "65535" in lines[0], done.stderr
