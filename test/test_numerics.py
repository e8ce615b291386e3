"""Denormal flushing is switched on around model computation only (``leovl_ros.model.numerics``)."""

from __future__ import annotations

import torch

from leovl_ros.model.numerics import denormals_flushed, flushed_denormals


def test_denormals_are_flushed_inside_the_block_only():
    assert not denormals_flushed()
    assert torch.tensor([1e-40]).mul(1.0).item() != 0.0  # a float32 denormal survives outside
    with flushed_denormals():
        assert denormals_flushed()
        assert torch.tensor([1e-40]).mul(1.0).item() == 0.0
        with flushed_denormals():
            pass
        assert denormals_flushed()  # a nested block leaves the outer one's mode
    assert not denormals_flushed()
