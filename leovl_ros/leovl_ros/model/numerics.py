"""Denormal floats flushed to zero around model computation, and only there.

Peaked attention and its softmax gradients produce values near 1e-40; CPU matrix products on such denormal operands
run up to ~180x slower (MKL sgemm on this project's machine: 113 GFLOP/s normal, 0.6 denormal), which slowed SFT
~4x late in training and the agent's answers ~2x (docs/benchmarks.md). Flushing is processor state of the calling
thread (and of threads it starts), so it is switched on for a block and back off after: the rest of the process
(geometry, numpy, other libraries) keeps IEEE-754 arithmetic.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch


def denormals_flushed() -> bool:
    """Whether this thread currently flushes denormal floats to zero."""
    tiny = np.array([5e-324])  # the smallest denormal double
    return bool((tiny * 1.0)[0] == 0.0)


@contextmanager
def flushed_denormals() -> Iterator[None]:
    """Flush denormals to zero inside the block; the mode before it is restored after."""
    before = denormals_flushed()
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        if not before:
            torch.set_flush_denormal(False)
