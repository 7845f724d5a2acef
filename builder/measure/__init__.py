"""Measurement: the Chromium harness, the synthetic camera clip, and the benchmark."""
