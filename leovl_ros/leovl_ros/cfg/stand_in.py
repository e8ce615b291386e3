"""A deterministic, untrained feature source for tests and benchmarks (not a stand-in for a learned model's quality).

Average-pools the image over ``stride``×``stride`` patches and maps the pooled RGB through a fixed random
two-layer network (seeded), giving [1, D, H/stride, W/stride] features that vary with colour like real ones.
"""

from __future__ import annotations

import numpy as np
import torch


class PooledColourEncoder:
    """Fixed random features of stride-pooled RGB; follows the ImageEncoder contract (feature_dim, stride, encode)."""

    def __init__(self, feature_dim: int = 64, stride: int = 16, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.feature_dim = feature_dim
        self.stride = stride
        self._w1 = torch.randn(32, 3, generator=g)
        self._w2 = torch.randn(feature_dim, 32, generator=g) / 32**0.5

    @torch.no_grad()
    def encode(self, rgb: np.ndarray | torch.Tensor) -> torch.Tensor:
        """H×W×3 (or [B,H,W,3]) uint8 → [B, D, ceil(H/stride), ceil(W/stride)] float32."""
        x = torch.tensor(rgb) if isinstance(rgb, np.ndarray) else rgb
        if x.ndim == 3:
            x = x[None]
        x = x.permute(0, 3, 1, 2).float() / 255.0
        p = torch.nn.functional.avg_pool2d(x, self.stride, ceil_mode=True)
        hidden = torch.tanh(torch.einsum("kc,bchw->bkhw", self._w1, p * 2 - 1))
        return torch.einsum("dk,bkhw->bdhw", self._w2, hidden).contiguous()
