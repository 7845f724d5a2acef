"""Serve site/ locally with the headers Netlify sends (read from netlify.toml, one source of truth).

`python -m builder serve` uses it, and so do the browser tests and the benchmark: the page runs
under the same CSP and cross-origin isolation (COOP/COEP, needed by the threaded wasm backend)
as the deployed site.
"""

from __future__ import annotations

import contextlib
import re
import sys
import threading
import tomllib
import urllib.parse
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

from builder.errors import BuilderError, ConfigError

from builder import REPO_ROOT
NETLIFY_TOML = REPO_ROOT / "netlify.toml"

# Python's mimetypes misses or varies on these (by platform and /etc/mime.types); Netlify's do not.
MIME_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".wasm": "application/wasm",
    ".bin": "application/octet-stream",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".webp": "image/webp",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".y4m": "video/x-yuv4mpeg",
}

Rule = tuple[str, dict[str, str]]


def load_headers(netlify_toml: Path) -> list[Rule]:
    """The `[[headers]]` rules of a netlify.toml, in file order: [(for_pattern, {name: value})]."""
    try:
        config = tomllib.loads(Path(netlify_toml).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{netlify_toml}: not found; serve needs it for the site's headers") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{netlify_toml}: invalid TOML ({error}); fix the file") from None
    rules = []
    for index, entry in enumerate(config.get("headers", [])):
        pattern, values = entry.get("for"), entry.get("values", {})
        if not isinstance(pattern, str) or not pattern.startswith("/"):
            raise ConfigError(f"{netlify_toml}: headers[{index}].for must be a path starting with '/'")
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            raise ConfigError(f"{netlify_toml}: headers[{index}].values must map header names to strings")
        rules.append((pattern, dict(values)))
    return rules


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """Netlify's matching of a `for` path, as in @netlify/headers-parser's getForRegExp.

    A standalone `*` segment matches anything, including nothing and further segments;
    `*` inside a segment matches any characters (slashes too); `:name` matches one segment;
    a trailing slash is optional; case is ignored.
    """
    parts = [part.rstrip() for part in pattern.split("/")]
    regex_parts = []
    for part in filter(None, parts):
        if part.startswith(":"):
            regex_parts.append("([^/]+)")
        elif part == "*":
            regex_parts.append("?(.*)")
        else:
            regex_parts.append("(.*)".join(re.escape(piece) for piece in part.split("*")))
    return re.compile("^/" + "/".join(regex_parts) + "/?$", re.IGNORECASE)


def headers_for_path(rules: list[Rule], path: str) -> dict[str, str]:
    """Headers of every rule matching `path` (no query string); later rules override earlier ones."""
    merged: dict[str, str] = {}
    for pattern, values in rules:
        if pattern_regex(pattern).match(path):
            merged.update(values)
    return merged


class SiteRequestHandler(SimpleHTTPRequestHandler):
    """Static files with Netlify's headers; no directory listings; quiet."""

    protocol_version = "HTTP/1.1"  # keep-alive: a page fetches dozens of assets and shards
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}
    rules: list[Rule] = []

    def end_headers(self) -> None:
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        for name, value in headers_for_path(self.rules, path).items():
            self.send_header(name, value)
        super().end_headers()

    def send_head(self):
        # "/%00" would reach open() as an embedded NUL and end the request in a server traceback.
        if "\0" in urllib.parse.unquote(self.path.split("?", 1)[0].split("#", 1)[0]):
            self.send_error(400, "Bad Request: NUL in the path")
            return None
        return super().send_head()

    def list_directory(self, path):  # Netlify never lists folders
        self.send_error(404, "Not Found")
        return None

    def send_error(self, code, message=None, explain=None):
        not_found_page = Path(self.directory) / "404.html"
        if code == 404 and self.command != "HEAD" and not_found_page.is_file():
            body = not_found_page.read_bytes()  # like Netlify: the site's own 404 page
            self.send_response(404, message)
            self.send_header("Content-Type", MIME_TYPES[".html"])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().send_error(code, message, explain)

    def log_message(self, format, *args) -> None:  # quiet: the page's own status says what matters
        pass


class SiteServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        # Browsers drop connections they no longer need (cancelled fetches, closed tabs).
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def serve(root: Path, host: str = "127.0.0.1", port: int = 8000, *,
          netlify_toml: Path = NETLIFY_TOML) -> ThreadingHTTPServer:
    """A server bound to host:port (port 0: a free one) for the files under root; not yet running.

    Call `serve_forever()` on it (or use `serving()`); `server.server_address` gives the port.
    """
    root = Path(root)
    if not root.is_dir():
        raise BuilderError(f"{root}: no such folder; run `python -m builder build` first")
    handler = type("Handler", (SiteRequestHandler,), {"rules": load_headers(netlify_toml)})
    return SiteServer((host, port), partial(handler, directory=str(root)))


def base_url(server: ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host}:{port}/"


@contextlib.contextmanager
def serving(root: Path, host: str = "127.0.0.1", port: int = 0, *,
            netlify_toml: Path = NETLIFY_TOML) -> Iterator[str]:
    """Serve root in a background thread; yields the base URL (ending in '/'); stops on exit."""
    server = serve(root, host, port, netlify_toml=netlify_toml)
    thread = threading.Thread(target=server.serve_forever, name=f"serve {root}", daemon=True)
    thread.start()
    try:
        yield base_url(server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def run(site_dir: Path, port: int = 8000, host: str = "127.0.0.1") -> None:
    """Serve site_dir until interrupted, printing its URL."""
    if not 0 <= port <= 65535:
        raise BuilderError(f"--port {port}: not a port number; pick one from 1 to 65535 (0: any free port)")
    try:
        server = serve(site_dir, host, port)
    except OSError as error:
        raise BuilderError(f"cannot listen on {host}:{port} ({error.strerror}); pick another with --port") from None
    with server:
        print(f"Serving {site_dir} at {base_url(server)} (Ctrl-C stops)", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


def add_arguments(parser) -> None:
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--site", type=Path, default=Path("site"), help="folder to serve (default site/)")


def command(args) -> int:
    run(args.site, args.port, args.host)
    return 0
