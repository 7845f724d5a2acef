"""python -m builder bench end to end, briefly, on the tiny-model site: the figures issue #15 asks
for are in its results (loose floors only; the real figures come from a full run, README)."""

import os

import pytest

from builder.measure.bench import run_bench
from builder.measure.report import summary


@pytest.mark.browser
@pytest.mark.timed  # a benchmark: nothing beside it
def test_bench_reports_the_machine_the_workers_and_the_page_thread(built_site):
    results = run_bench(built_site, frames=10, max_seconds=10, backends=["wasm", "wasm-1", "wasm-page"],
                        with_lighthouse=False, first_frame_loads=3)  # test_lighthouse.py runs Lighthouse
    machine = results["machine"]
    assert machine["backend"] == "wasm" and machine["gflops"] > 0.5 and machine["fine"]["gflops"] > 0.5, machine
    runs = results["backends"]
    workers = {name: runs[name].get("workers") for name in runs}
    assert workers == {"wasm": min(4, os.cpu_count()), "wasm-1": 1, "wasm-page": 0}, workers  # one per core
    for name, run in runs.items():
        assert run["frames_measured"] > 0 and run["page_errors"] == [], (name, run)
        assert run["long_tasks_per_second"] >= 0 and run["blocking_ms_per_second"] >= 0
        assert 0 < run["fraction_of_reference"], (name, run)
    first = results["first_frame"]
    assert len(first["each_ms"]) == first["loads"] and min(first["each_ms"]) > 0, first
    assert min(first["each_ms"]) <= first["median_ms"] <= max(first["each_ms"]), first
    checks = results["checks"]
    assert checks["first_frame_ms"]["value"] == first["median_ms"]
    assert checks["workers_speedup"]["value"] > 0 and checks["single_worker_inference_ms"]["value"] > 0
    assert "GFLOP/s on one convolution" in summary(results)


def test_the_processor_is_read_from_cpuinfo_so_that_two_machines_are_told_apart():
    from builder.measure.bench import processor, this_processor

    text = ("processor\t: 0\nmodel name\t: AMD EPYC 7571\ncpu family\t: 23\nmodel\t\t: 1\ncpu MHz\t\t: 2199.960\n"
            "flags\t\t: fpu sse avx avx2\n\nprocessor\t: 1\nmodel name\t: other\n")
    assert processor(text) == {"name": "AMD EPYC 7571", "family": 23, "model": 1, "mhz": 2200, "avx512": False}
    assert processor(text.replace("avx2", "avx2 avx512f"))["avx512"]
    assert processor("") is None
    if os.path.exists("/proc/cpuinfo"):
        assert this_processor()["name"]
