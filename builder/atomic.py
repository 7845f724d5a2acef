"""Write so that readers see the old output or the new one, never a half-written one.

Two shapes, one idea: write beside the destination under a hidden name, then rename over it.
- `new_dir(dest)`: a fresh sibling directory, swapped in at `dest` when the block succeeds.
- `new_file(path)`: a fresh sibling file, renamed over `path` when the block succeeds.
A block that raises (or is interrupted) removes its temporary and leaves `dest` as it was.
`check_writable(folder)` asks, before a long job, whether those writes will be possible.
`interrupted_while(doing)` turns Ctrl-C inside a job into `Interrupted`: one line for the CLI,
which the writes above make true ("nothing half-written was kept").
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from builder.errors import BuilderError


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (still a KeyboardInterrupt to any caller) with one line saying what it stopped; the
    CLI prints it and exits with 130, the shell's status for a SIGINT."""


@contextlib.contextmanager
def interrupted_while(doing: str) -> Iterator[None]:
    """Re-raise Ctrl-C inside the block as `Interrupted`, naming `doing`; an inner one's words win."""
    try:
        yield
    except Interrupted:
        raise
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted while {doing}; nothing half-written was kept: run it again") from None


@contextlib.contextmanager
def new_dir(dest: Path) -> Iterator[Path]:
    """Yield an empty directory beside `dest`; on success it replaces `dest` (made if absent)."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o755)  # mkdtemp made it private; the output is served and shared
        replace_dir(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # gone already when the swap succeeded


def replace_dir(new: Path, dest: Path) -> None:
    """Swap `new` in at `dest` with two renames (same filesystem); the old copy is deleted after.

    If the second rename fails the old directory is put back, so `dest` is never left missing."""
    old = dest.with_name(f".{dest.name}.old-{os.getpid()}-{secrets.token_hex(4)}")
    had_old = dest.exists()
    if had_old:
        os.replace(dest, old)
    try:
        os.replace(new, dest)
    except BaseException:
        if had_old:
            os.replace(old, dest)
        raise
    shutil.rmtree(old, ignore_errors=True)


def check_writable(folder: Path, option: str, *, replaced: bool = False) -> None:
    """Raise a one-line error unless entries can be made in `folder` (made first if absent), or,
    with `replaced`, beside it (new_dir writes and renames in the parent).

    Tried, not inferred from permission bits: root passes every os.access check, yet /proc and
    read-only mounts still refuse. The probe is a directory (what new_dir makes), removed at once."""
    folder = Path(folder)
    existing = folder.parent if replaced else folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise BuilderError(f"{folder}: cannot be made, {existing} is a file, not a folder; pass another {option}")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".write-test-", dir=existing))
    except OSError as e:
        raise BuilderError(f"{folder}: cannot write there ({e.strerror} in {existing}); pass a writable "
                           f"{option}") from None


@contextlib.contextmanager
def new_file(path: Path) -> Iterator[Path]:
    """Yield a fresh path beside `path`; on success it is renamed over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Not mkstemp: its 0600 mode would follow a picture into site/ and hide it from the server.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    temporary.open("xb").close()  # umask-normal mode; "x" so no other writer shares the name
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_bytes(path: Path, data: bytes) -> None:
    with new_file(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))
