"""`make test` runs the suite in two parts: in parallel what can share the machine, then alone the
tests marked `timed`, whose results depend on how fast things run (Makefile). Which test that is
cannot all be read from its code; the part that can is checked here: a test that runs the
benchmark or Lighthouse must carry the mark, or it would be timed beside a training test. A
static check: the test files are parsed, never imported; the check is itself shown a planted file."""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
TIMERS = {"lighthouse", "run_bench"}  # each measures how fast the page runs


def called_names(node: ast.AST) -> set[str]:
    return {(c.func.id if isinstance(c.func, ast.Name) else getattr(c.func, "attr", ""))
            for c in ast.walk(node) if isinstance(c, ast.Call)}


def unmarked_timing_tests(path: Path) -> list[str]:
    """The test functions of `path` that run a timer of TIMERS and are not marked `timed`
    (by a decorator or the module's `pytestmark`)."""
    tree = ast.parse(path.read_text())
    module_marks = " ".join(ast.unparse(node.value) for node in tree.body if isinstance(node, ast.Assign)
                            and any(getattr(t, "id", "") == "pytestmark" for t in node.targets))
    return [f"{path.name}::{node.name}" for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
            and called_names(node) & TIMERS
            and "mark.timed" not in " ".join(ast.unparse(d) for d in node.decorator_list) + module_marks]


def test_every_test_that_runs_the_benchmark_or_lighthouse_is_marked_to_run_alone():
    found = [name for path in sorted(TESTS.glob("test_*.py")) for name in unmarked_timing_tests(path)]
    assert not found, f"timed beside other tests in the parallel part: {', '.join(found)}; add @pytest.mark.timed"


def test_the_check_finds_a_planted_unmarked_timer_and_passes_the_marked_ones(tmp_path):
    planted = tmp_path / "test_planted.py"
    planted.write_text(
        "import pytest\n"
        "def test_unmarked(server):\n    lighthouse(server)\n"
        "@pytest.mark.timed\ndef test_marked(built_site):\n    run_bench(built_site)\n"
        "def test_no_timer(tmp_path):\n    print(tmp_path)\n")
    assert unmarked_timing_tests(planted) == ["test_planted.py::test_unmarked"]
    planted.write_text("import pytest\npytestmark = pytest.mark.timed\ndef test_a(s):\n    lighthouse(s)\n")
    assert unmarked_timing_tests(planted) == []
