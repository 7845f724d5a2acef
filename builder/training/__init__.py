"""Training: themes and datasets, the input transform, the networks, the loop, runs/ and export."""
