"""Lighthouse on the built page (the tiny-model site, served with netlify.toml's headers):
accessibility and best practices stay at 1.0. The performance score depends on the machine and
belongs to `python -m builder bench`."""

import pytest

from builder.measure.lighthouse import lighthouse


@pytest.mark.browser
@pytest.mark.timed  # Lighthouse times the page as it loads
def test_accessibility_and_best_practices_score_1(server):
    result = lighthouse(server)
    assert "scores" in result, result
    scores = result["scores"]
    assert scores["accessibility"] == 1 and scores["best_practices"] == 1, scores
