"""An ``ImageEncoder`` over any EncoderBackend, so fusion can run the 2D encoder on TensorRT / ONNX Runtime."""

from __future__ import annotations

import torch

from leovl_ros.model.image_encoder import ImageInput, to_batch
from leovl_ros.runtime.backends import EncoderBackend


class BackendImageEncoder:
    """``encode(uint8 RGB) -> [B, D, h, w]`` float32 via a backend of the ``image_encoder`` spec (fixed H×W)."""

    def __init__(self, backend: EncoderBackend, stride: int) -> None:
        self.backend = backend
        self.stride = stride
        image, features = backend.spec.inputs[0], backend.spec.outputs[0]
        self.feature_dim = int(features.shape[1])
        self.size = (int(image.shape[2]), int(image.shape[3]))

    @torch.no_grad()
    def encode(self, rgb: ImageInput) -> torch.Tensor:
        """H×W×3 / B×H×W×3 uint8 → float32 features on the CPU (the export's image size is required)."""
        x = to_batch(rgb)
        if tuple(x.shape[2:]) != self.size:
            raise ValueError(f"{self.backend.name} engine takes {self.size[0]}×{self.size[1]} images, "
                             f"got {x.shape[2]}×{x.shape[3]} (re-export with --image-size)")
        return self.backend(image=x)["features"].float().cpu()
