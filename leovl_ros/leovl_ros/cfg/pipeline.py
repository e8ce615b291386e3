"""One frame into the store: decode + validate + resize (``FrameFuser``), then 2D encoder → lifting → voxel fusion.

``FrameFuser`` is the one frame path of the fusion node's worker and of ``benchmarks/fusion_pipeline.py``:
image messages (any object with the fields of sensor_msgs Image / CompressedImage / CameraInfo, decoded by
``leovl_ros.io.image_codec``) → size checks → per-pixel depth mask (``leovl_ros.agent.validation.check_depth``)
→ resize to the encoder input → ``fuse_frame``. Bad content raises ``InputRejected`` with the counted reason and
never touches the store. The colour image's header stamp rides in ``Frame.stamp`` into the store, where it becomes
the seen times of the voxels the frame hits. ``load_encoder`` builds the configured 2D encoder.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Optional, Protocol

import numpy as np
import torch

from leovl_ros.agent.validation import InputRejected, check_depth, check_min_size, check_same_size
from leovl_ros.cfg.lifting import LiftConfig, lift
from leovl_ros.cfg.voxel_store import VoxelStore, VoxelStoreConfig
from leovl_ros.geometry import Frame
from leovl_ros.io import image_codec


class FeatureSource(Protocol):
    """What fusion needs of a 2D encoder (the ImageEncoder contract of ``leovl_ros.model``)."""

    feature_dim: int

    def encode(self, rgb: np.ndarray) -> torch.Tensor:
        """H×W×3 uint8 image → [B, D, h, w] float32 features."""
        ...


def fuse_frame(
    store: VoxelStore,
    frame: Frame,
    encoder2d: FeatureSource,
    lift_config: Optional[LiftConfig] = None,
    mask: Optional[np.ndarray] = None,
) -> int:
    """Encode, lift to the feature grid and fuse (weight = pixels pooled per point) at the frame's stamp (its sensor
    time: the voxels' seen times); returns points fused."""
    feats = encoder2d.encode(frame.rgb)
    if feats.ndim != 4 or feats.shape[0] != 1:
        raise ValueError(f"encoder must return [1, D, h, w] for one image, got {tuple(feats.shape)}")
    lifted = lift(frame.depth, frame.K, frame.pose, tuple(feats.shape[2:]), rgb=frame.rgb, config=lift_config,
                  mask=mask)
    store.fuse(lifted.points, lifted.gather(feats[0]), lifted.colours, weights=lifted.pixels, stamp=frame.stamp)
    store.note_camera(frame.pose)
    return len(lifted)


def warm_up(store_config: VoxelStoreConfig, encoder2d: FeatureSource, image_hw: tuple[int, int],
            lift_config: Optional[LiftConfig] = None) -> float:
    """Fuse two synthetic frames (a wall 2 m ahead) into a scratch store with ``store_config``'s layout, so the first
    real frame does not pay for compiling the CPU loops (numba: once per install, then loaded from its disk cache)
    or for the encoder's first call. Returns the seconds it took."""
    t0 = time.perf_counter()
    H, W = image_hw
    K = np.array([[0.8 * W, 0.0, (W - 1) / 2], [0.0, 0.8 * W, (H - 1) / 2], [0.0, 0.0, 1.0]])
    depth = np.full((H, W), 2.0, dtype=np.float32)
    depth[: H // 4] = 0.0  # a few invalid pixels, as real cameras give
    rgb = np.full((H, W, 3), 128, dtype=np.uint8)
    scratch = VoxelStore(store_config)  # same layout and path; only its initial slots are allocated
    for shift in (0.0, 0.5):  # the second frame finds, adds to and merges into existing voxels
        pose = np.eye(4)
        pose[0, 3] = shift
        fuse_frame(scratch, Frame(rgb=rgb, depth=depth, K=K, pose=pose), encoder2d, lift_config)
    return time.perf_counter() - t0


def resize_frame(rgb: np.ndarray, depth: np.ndarray, K: np.ndarray,
                 size_wh: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Resize colour (bilinear) and depth (nearest, so no depth is invented across edges); scale K to match."""
    from PIL import Image as PILImage

    h, w = depth.shape
    tw, th = size_wh
    if (w, h) == (tw, th):
        return rgb, depth, K
    sx, sy = tw / w, th / h
    rgb_small = np.array(PILImage.fromarray(rgb).resize((tw, th), PILImage.BILINEAR))
    rows = np.minimum(((np.arange(th) + 0.5) / sy).astype(np.int64), h - 1)
    cols = np.minimum(((np.arange(tw) + 0.5) / sx).astype(np.int64), w - 1)
    depth_small = depth[rows[:, None], cols[None, :]]
    k = K.copy()
    k[0, 0], k[1, 1] = K[0, 0] * sx, K[1, 1] * sy
    k[0, 2], k[1, 2] = (K[0, 2] + 0.5) * sx - 0.5, (K[1, 2] + 0.5) * sy - 0.5
    return rgb_small, depth_small, k


@dataclass
class FrameFuserConfig:
    """How a frame is checked, resized and fused (the fusion node's parameters of the same meaning)."""

    input_width: int = 320
    """Width the colour/depth images are resized to before the 2D encoder."""
    input_height: int = 240
    """Height the colour/depth images are resized to before the 2D encoder."""
    min_depth: float = 0.1
    """Depth below this (m) is masked."""
    max_depth: float = 8.0
    """Depth beyond this (m) is masked."""
    max_invalid_fraction: float = 0.9
    """A frame with a larger share of invalid depth pixels is rejected."""
    min_image_size: int = 16
    """Images smaller than this many pixels on either side are rejected (``size_mismatch``)."""
    compiled: bool = True
    """On CPU, lift with the compiled loops (numba); False runs the torch ops."""

    def __post_init__(self) -> None:
        if min(self.input_width, self.input_height) < 8 or self.min_image_size < 1:
            raise ValueError(f"need input size >= 8 px and min_image_size >= 1, got {self.input_width}x"
                             f"{self.input_height}, {self.min_image_size}")
        LiftConfig(min_depth=self.min_depth, max_depth=self.max_depth)  # its range checks

    def lift_config(self) -> LiftConfig:
        """Depth range and fusion path of the lifting."""
        return LiftConfig(min_depth=self.min_depth, max_depth=self.max_depth, compiled=self.compiled)


class FrameFuser:
    """Image messages + pose → validated frame at the encoder resolution → fused into a store."""

    def __init__(self, encoder2d: FeatureSource, config: Optional[FrameFuserConfig] = None) -> None:
        """Fuse with ``encoder2d``; ``config`` may be replaced later (runtime parameter updates)."""
        self.encoder = encoder2d
        self.config = config or FrameFuserConfig()

    def decode(self, colour: Any, depth: Any, info: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Colour, depth and CameraInfo messages → (RGB, metres, K), sizes checked (``InputRejected``)."""
        rgb = image_codec.decode_colour(colour)
        metres = image_codec.decode_depth(depth)
        rejection = (check_same_size(rgb.shape[:2], metres.shape)
                     or check_min_size(metres.shape, self.config.min_image_size))
        if rejection is not None:
            raise InputRejected(rejection)
        return rgb, metres, image_codec.intrinsics_from_camera_info(info, metres.shape)

    def mask(self, depth: np.ndarray) -> np.ndarray:
        """Invalid depth pixels set to 0; ``InputRejected`` when all or too many are invalid."""
        c = self.config
        cleaned, rejection = check_depth(depth, c.min_depth, c.max_depth, c.max_invalid_fraction)
        if rejection is not None:
            raise InputRejected(rejection)
        return cleaned

    def resize(self, rgb: np.ndarray, depth: np.ndarray, K: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """To the encoder input size (``resize_frame``)."""
        return resize_frame(rgb, depth, K, (self.config.input_width, self.config.input_height))

    def prepare(self, colour: Any, depth: Any, info: Any, pose: np.ndarray, stamp_ns: int = 0) -> Frame:
        """Messages + 4×4 pose → a validated ``Frame`` at the encoder resolution (``InputRejected`` on bad content),
        stamped ``stamp_ns`` (the colour image's header stamp: the time its voxels are seen at)."""
        rgb, metres, K = self.decode(colour, depth, info)
        rgb, metres, K = self.resize(rgb, self.mask(metres), K)
        return Frame(rgb=rgb, depth=metres, K=K, pose=pose, stamp=stamp_ns * 1e-9, frame_id=colour.header.frame_id)

    def fuse(self, store: VoxelStore, frame: Frame) -> int:
        """``fuse_frame`` with this fuser's encoder and lifting; returns points fused."""
        return fuse_frame(store, frame, self.encoder, self.config.lift_config())

    def warm_up(self, store_config: VoxelStoreConfig) -> float:
        """``warm_up`` at this fuser's input size and lifting; returns seconds."""
        c = self.config
        return warm_up(store_config, self.encoder, (c.input_height, c.input_width), c.lift_config())


def load_encoder(kind: str = "small_cnn", path: str = "", warn: Optional[Callable[[str], Any]] = None) -> Any:
    """The configured 2D encoder (``leovl_ros.model``): ``path``, else the shipped default model's SmallCNN, else an
    untrained SmallCNN (``warn`` is told)."""
    from leovl_ros.agent.paths import default_model_dir, image_encoder_dir
    from leovl_ros.model.config import ImageEncoderConfig
    from leovl_ros.model.image_encoder import load_image_encoder

    if not path and kind == "small_cnn":
        found = image_encoder_dir(default_model_dir())
        if found is not None:
            path = str(found)
        elif warn is not None:
            warn(f"no trained image encoder in {default_model_dir()}: fusing with an untrained SmallCNN "
                 f"(run training/ or set encoder_path)")
    return load_image_encoder(ImageEncoderConfig(kind=kind, path=path or None))
