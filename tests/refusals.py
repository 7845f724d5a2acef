"""What every refusal on the command line looks like, for the tests that plant one: exit status 2
and a single line on stderr, "error: ...", naming the file or option and the fix."""

import subprocess


def one_line_error(done: subprocess.CompletedProcess, *words: str) -> str:
    """Asserts `done` was refused in one line holding every one of `words`; returns that line."""
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr[-2000:]
    missing = [word for word in words if word not in lines[0]]
    assert not missing, f"{missing} not in: {lines[0]}"
    return lines[0]
