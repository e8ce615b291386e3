"""Latency measurement shared by the engine benchmarks: median wall time with CUDA synchronisation."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch


def median_ms(fn: Callable[[], object], iters: int = 20, warmup: int = 3, cuda: bool = False) -> float:
    """Median milliseconds of ``fn()`` over ``iters`` runs after ``warmup`` (synchronising CUDA when ``cuda``)."""
    times = []
    for i in range(warmup + iters):
        if cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if cuda:
            torch.cuda.synchronize()
        if i >= warmup:
            times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)
