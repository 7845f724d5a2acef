"""`make test` runs the suite in two parts: in parallel what can share the machine, then alone the
tests marked `browser` or `timed` (Makefile). A test that starts a browser of its own, not
through the `chromium` or `playwright_driver` fixtures (which mark it, conftest.py), must carry
the mark itself, or it would run beside a training test and its timings would move. A static
check: the test files are parsed, never imported; the check is itself shown a planted file."""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
LAUNCHERS = {"launch_chromium", "lighthouse", "run_bench"}  # each starts its own Chromium
MARKING_FIXTURES = {"chromium", "playwright_driver"}


def called_names(node: ast.AST) -> set[str]:
    return {(c.func.id if isinstance(c.func, ast.Name) else getattr(c.func, "attr", ""))
            for c in ast.walk(node) if isinstance(c, ast.Call)}


def marked_browser(function: ast.FunctionDef, module_marks: str) -> bool:
    decorators = " ".join(ast.unparse(d) for d in function.decorator_list)
    fixtures = {a.arg for a in function.args.args}
    return "mark.browser" in decorators or "mark.browser" in module_marks or bool(fixtures & MARKING_FIXTURES)


def unmarked_browser_tests(path: Path) -> list[str]:
    """The test functions of `path` that start a browser themselves and are not marked `browser`."""
    tree = ast.parse(path.read_text())
    module_marks = " ".join(ast.unparse(node.value) for node in tree.body if isinstance(node, ast.Assign)
                            and any(getattr(t, "id", "") == "pytestmark" for t in node.targets))
    return [f"{path.name}::{node.name}" for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
            and called_names(node) & LAUNCHERS and not marked_browser(node, module_marks)]


def test_every_test_that_starts_its_own_browser_is_marked_to_run_alone():
    found = [name for path in sorted(TESTS.glob("test_*.py")) for name in unmarked_browser_tests(path)]
    assert not found, f"start a browser but run in the parallel part: {', '.join(found)}; add @pytest.mark.browser"


def test_the_check_finds_a_planted_unmarked_launch_and_passes_the_marked_ones(tmp_path):
    planted = tmp_path / "test_planted.py"
    planted.write_text(
        "import pytest\n"
        "def test_unmarked(server):\n    lighthouse(server)\n"
        "@pytest.mark.browser\ndef test_marked(built_site):\n    run_bench(built_site)\n"
        "def test_by_fixture(playwright_driver):\n    launch_chromium(playwright_driver, None)\n"
        "def test_no_browser(tmp_path):\n    print(tmp_path)\n")
    assert unmarked_browser_tests(planted) == ["test_planted.py::test_unmarked"]
    planted.write_text("import pytest\npytestmark = pytest.mark.browser\ndef test_a(s):\n    lighthouse(s)\n")
    assert unmarked_browser_tests(planted) == []
