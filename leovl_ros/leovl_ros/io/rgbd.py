"""Posed RGB-D dataset readers (Redwood/Open3D, 3DMatch, ScanNet export) and a ScanNet-layout writer.

Every reader yields ``Frame`` objects lazily in a REP 103 world (metres, z up): the dataset's fixed up
convention is rotated to z up and refined by a floor fit (``geometry.alignment``), computed once per
sequence on first use. ``align=False`` keeps the dataset's raw poses.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union, overload

import numpy as np
from PIL import Image

from leovl_ros.geometry.alignment import (
    Y_DOWN_TO_Z_UP,
    Y_UP_TO_Z_UP,
    Z_UP,
    FloorFit,
    FloorFitConfig,
    estimate_alignment,
)
from leovl_ros.geometry.frame import Frame

LOG = logging.getLogger(__name__)

PRIMESENSE_K = np.array([[525.0, 0.0, 319.5], [0.0, 525.0, 239.5], [0.0, 0.0, 1.0]])
"""Default intrinsics of Redwood/Open3D sequences (PrimeSense, 640×480)."""

PathLike = Union[str, Path]


@dataclass(frozen=True)
class FrameRecord:
    """Where one frame's files are and its camera-to-world pose in the dataset's own world."""

    color_path: Path
    """Colour image file."""
    depth_path: Path
    """Depth image file (16-bit PNG)."""
    pose: np.ndarray
    """Raw 4×4 optical camera-to-world pose as the dataset stores it."""
    stamp: float
    """Time in seconds (datasets without timestamps: index / fps)."""
    frame_id: str
    """Identifier of the frame inside its sequence."""


@dataclass(frozen=True)
class WorldConvention:
    """A dataset's world up convention: where up roughly points and the fixed rotation that makes it z up."""

    up_hint: np.ndarray
    """Approximate up direction in the dataset's world."""
    base_rotation: np.ndarray
    """3×3 fixed rotation dataset world → z up (refined by the floor fit)."""


REDWOOD = WorldConvention(up_hint=np.array([0.0, -1.0, 0.0]), base_rotation=Y_DOWN_TO_Z_UP)
THREEDMATCH = WorldConvention(up_hint=np.array([0.0, 1.0, 0.0]), base_rotation=Y_UP_TO_Z_UP)
SCANNET = WorldConvention(up_hint=Z_UP, base_rotation=np.eye(3))


class _LazyAlignment:
    """Floor-fit alignment of one sequence, computed on first request and shared by its slices (thread-safe)."""

    def __init__(self, raw: RGBDSequence, convention: WorldConvention, config: Optional[FloorFitConfig]) -> None:
        self._raw = raw
        self._convention = convention
        self._config = config
        self._fit: Optional[FloorFit] = None
        self._lock = threading.Lock()

    def get(self) -> FloorFit:
        """The fit (computing it the first time)."""
        with self._lock:
            if self._fit is None:
                c = self._convention
                self._fit = estimate_alignment(self._raw, c.up_hint, c.base_rotation, self._config)
                LOG.info("%s: floor fit corrected %.2f° of tilt, rmse %.3f m", self._raw.name,
                         self._fit.correction_deg, self._fit.rmse)
            return self._fit


class RGBDSequence(Sequence[Frame]):
    """A posed RGB-D sequence on disk, loading each ``Frame`` on access (indexing, slicing, iteration)."""

    def __init__(
        self,
        name: str,
        records: Sequence[FrameRecord],
        K: np.ndarray,
        K_for_color: bool = False,
        depth_scale: float = 1000.0,
        convention: Optional[WorldConvention] = None,
        floor_config: Optional[FloorFitConfig] = None,
        skipped: int = 0,
        _alignment: Optional[_LazyAlignment] = None,
    ) -> None:
        """``convention`` None keeps raw poses; ``K_for_color`` says K is the colour image's (scaled to depth)."""
        self.name = name
        self.records = list(records)
        self.K = np.asarray(K, dtype=np.float64)
        self.K_for_color = K_for_color
        self.depth_scale = float(depth_scale)
        self.convention = convention
        self.floor_config = floor_config
        self.skipped = skipped
        """Frames dropped while reading (invalid poses or missing files)."""
        if _alignment is None and convention is not None:
            _alignment = _LazyAlignment(self.raw(), convention, floor_config)
        self._alignment = _alignment

    def raw(self) -> RGBDSequence:
        """The same frames with the dataset's raw (unaligned) poses."""
        return RGBDSequence(self.name, self.records, self.K, self.K_for_color, self.depth_scale, None,
                            self.floor_config, self.skipped)

    @property
    def floor_fit(self) -> Optional[FloorFit]:
        """The floor fit behind the alignment (computed on first use); None where ``align=False``."""
        return None if self._alignment is None else self._alignment.get()

    @property
    def alignment(self) -> np.ndarray:
        """4×4 dataset world → REP 103 world applied to every pose (identity where ``align=False``)."""
        fit = self.floor_fit
        return np.eye(4) if fit is None else fit.transform.copy()

    def __len__(self) -> int:
        """Number of readable frames."""
        return len(self.records)

    @overload
    def __getitem__(self, i: int) -> Frame: ...

    @overload
    def __getitem__(self, i: slice) -> RGBDSequence: ...

    def __getitem__(self, i: Union[int, slice]) -> Union[Frame, RGBDSequence]:
        """Load frame i (negative indices allowed), or a lazy sub-sequence sharing this one's alignment."""
        if isinstance(i, slice):
            return RGBDSequence(self.name, self.records[i], self.K, self.K_for_color, self.depth_scale,
                                self.convention, self.floor_config, self.skipped, self._alignment)
        rec = self.records[i]
        depth = _read_depth(rec.depth_path, self.depth_scale)
        h, w = depth.shape
        color = Image.open(rec.color_path).convert("RGB")
        K = self.K
        if self.K_for_color and color.size != (w, h):
            K = scale_intrinsics(K, color.size, (w, h))
        if color.size != (w, h):
            color = color.resize((w, h), Image.Resampling.BILINEAR)
        pose = rec.pose if self._alignment is None else self.alignment @ rec.pose
        return Frame(rgb=np.asarray(color, dtype=np.uint8), depth=depth, K=K, pose=pose, stamp=rec.stamp,
                     frame_id=rec.frame_id)

    def __iter__(self) -> Iterator[Frame]:
        """Frames in order, each loaded when reached."""
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        return f"RGBDSequence({self.name!r}, {len(self)} frames, aligned={self._alignment is not None})"


def scale_intrinsics(K: np.ndarray, from_wh: tuple[int, int], to_wh: tuple[int, int]) -> np.ndarray:
    """Intrinsics of an image resized from ``from_wh`` to ``to_wh`` (pixel-centre convention)."""
    sx, sy = to_wh[0] / from_wh[0], to_wh[1] / from_wh[1]
    K2 = np.asarray(K, dtype=np.float64).copy()
    K2[0, 0] *= sx
    K2[0, 1] *= sx
    K2[1, 1] *= sy
    K2[0, 2] = (K2[0, 2] + 0.5) * sx - 0.5
    K2[1, 2] = (K2[1, 2] + 0.5) * sy - 0.5
    return K2


def _read_depth(path: Path, depth_scale: float) -> np.ndarray:
    """16-bit depth PNG → float32 metres, 0 where invalid."""
    raw = np.asarray(Image.open(path))
    if raw.ndim != 2 or raw.dtype.kind not in "ui":
        raise ValueError(f"{path}: expected a single-channel integer depth image, got {raw.shape} {raw.dtype}")
    return (raw.astype(np.float32) / np.float32(depth_scale)).astype(np.float32)


def _read_matrix(path: Path, rows: int = 4) -> np.ndarray:
    """A whitespace-separated matrix text file (inf/nan parsed as such)."""
    M = np.loadtxt(path, dtype=np.float64, ndmin=2)
    if M.shape[0] < rows or M.shape[1] < rows:
        raise ValueError(f"{path}: expected at least a {rows}×{rows} matrix, got {M.shape}")
    return M


def _index_files(folder: Path, suffixes: tuple[str, ...], pattern: str = r"(\d+)") -> dict[int, Path]:
    """Map from the integer in each file name (``pattern``'s first group, full stem match) to the file."""
    rx = re.compile(pattern)
    out: dict[int, Path] = {}
    if folder.is_dir():
        for p in folder.iterdir():
            m = rx.fullmatch(p.name[: -len(p.suffix)] if p.suffix else p.name)
            if m and p.suffix.lower() in suffixes:
                out[int(m.group(1))] = p
    return out


def read_trajectory_log(path: PathLike) -> list[tuple[int, np.ndarray]]:
    """Parse an Open3D/Redwood ``trajectory.log``: (frame index = first header integer, 4×4 camera-to-world)."""
    lines = [ln.split() for ln in Path(path).read_text().splitlines() if ln.strip()]
    if len(lines) % 5:
        raise ValueError(f"{path}: {len(lines)} non-empty lines is not a multiple of 5 (header + 4×4 per frame)")
    out = []
    for b in range(0, len(lines), 5):
        header = lines[b]
        if len(header) < 1 or not all(re.fullmatch(r"-?\d+", t) for t in header):
            raise ValueError(f"{path}: block {b // 5} header {' '.join(header)!r} is not a line of integers")
        M = np.array([[float(x) for x in row] for row in lines[b + 1: b + 5]])
        if M.shape != (4, 4):
            raise ValueError(f"{path}: block {b // 5} matrix is {M.shape}, not 4×4")
        out.append((int(header[0]), M))
    return out


def _valid_pose(T: np.ndarray) -> bool:
    """Finite 4×4 pose with a homogeneous last row (ScanNet marks lost tracking with inf/NaN)."""
    return T.shape == (4, 4) and bool(np.all(np.isfinite(T))) and np.allclose(T[3], [0.0, 0.0, 0.0, 1.0])


def _report_skipped(name: str, skipped: int, total: int) -> None:
    """Say how many frames a reader dropped (ScanNet loses tracking: inf/NaN poses)."""
    if skipped:
        LOG.warning("%s: skipped %d of %d frames (invalid inf/NaN pose or missing file)", name, skipped, total)


def read_redwood(
    root: PathLike,
    trajectory: str = "trajectory.log",
    K: Optional[np.ndarray] = None,
    depth_scale: float = 1000.0,
    align: bool = True,
    fps: float = 30.0,
    floor_config: Optional[FloorFitConfig] = None,
) -> RGBDSequence:
    """Redwood/Open3D layout: ``image/NNNNN.jpg`` (or ``color/``), ``depth/NNNNN.png``, ``trajectory.log``.

    The log's world is frame 0's optical frame (y down); the image number is the first header integer.
    """
    root = Path(root)
    traj = read_trajectory_log(root / trajectory)
    colors = _index_files(root / "image", (".jpg", ".png")) or _index_files(root / "color", (".jpg", ".png"))
    depths = _index_files(root / "depth", (".png",))
    records, skipped = [], 0
    for idx, T in traj:
        if idx not in colors or idx not in depths or not _valid_pose(T):
            skipped += 1
            continue
        records.append(FrameRecord(colors[idx], depths[idx], T, idx / fps, colors[idx].stem))
    _report_skipped(root.name, skipped, len(traj))
    if not records:
        raise ValueError(f"{root}: no frame of {trajectory} has both an image and a depth file")
    return RGBDSequence(root.name, records, PRIMESENSE_K if K is None else K, False, depth_scale,
                        REDWOOD if align else None, floor_config, skipped)


def read_3dmatch(
    root: PathLike,
    align: bool = True,
    depth_scale: float = 1000.0,
    fps: float = 30.0,
    floor_config: Optional[FloorFitConfig] = None,
) -> RGBDSequence:
    """3DMatch layout: ``frame-XXXXXX.{color.png,depth.png,pose.txt}`` + ``camera-intrinsics.txt``; world y up."""
    root = Path(root)
    K = _read_matrix(root / "camera-intrinsics.txt", rows=3)[:3, :3]
    frames = sorted(int(m.group(1)) for p in root.glob("frame-*.color.png")
                    if (m := re.fullmatch(r"frame-(\d+)\.color", p.stem)))
    records, skipped = [], 0
    for i in frames:
        stem = f"frame-{i:06d}"
        depth, pose = root / f"{stem}.depth.png", root / f"{stem}.pose.txt"
        T = _read_matrix(pose)[:4, :4] if pose.is_file() else np.full((4, 4), np.nan)
        if not depth.is_file() or not _valid_pose(T):
            skipped += 1
            continue
        records.append(FrameRecord(root / f"{stem}.color.png", depth, T, i / fps, stem))
    _report_skipped(root.name, skipped, len(frames))
    if not records:
        raise ValueError(f"{root}: no complete 3DMatch frame (frame-XXXXXX.color.png/.depth.png/.pose.txt)")
    return RGBDSequence(root.name, records, K, False, depth_scale, THREEDMATCH if align else None,
                        floor_config, skipped)


def read_scannet(
    root: PathLike,
    align: bool = False,
    depth_scale: float = 1000.0,
    fps: float = 30.0,
    floor_config: Optional[FloorFitConfig] = None,
) -> RGBDSequence:
    """ScanNet export layout: ``color/N.jpg, depth/N.png, pose/N.txt, intrinsic/``; world z up.

    Frames whose pose holds inf/NaN (lost tracking) are skipped and counted in ``.skipped``. K is
    ``intrinsic_depth.txt`` where present (the colour is resized to the depth size), else the scaled
    ``intrinsic_color.txt``.
    """
    root = Path(root)
    colors = _index_files(root / "color", (".jpg", ".png"))
    depths = _index_files(root / "depth", (".png",))
    poses = _index_files(root / "pose", (".txt",))
    intr = root / "intrinsic"
    if (intr / "intrinsic_depth.txt").is_file():
        K, K_for_color = _read_matrix(intr / "intrinsic_depth.txt")[:3, :3], False
    elif (intr / "intrinsic_color.txt").is_file():
        K, K_for_color = _read_matrix(intr / "intrinsic_color.txt")[:3, :3], True
    else:
        raise ValueError(f"{root}: no intrinsic/intrinsic_depth.txt or intrinsic/intrinsic_color.txt")
    indices = sorted(set(colors) | set(depths) | set(poses))
    records, skipped = [], 0
    for i in indices:
        if i not in colors or i not in depths or i not in poses:
            skipped += 1
            continue
        T = _read_matrix(poses[i])[:4, :4]
        if not _valid_pose(T):
            skipped += 1
            continue
        records.append(FrameRecord(colors[i], depths[i], T, i / fps, str(i)))
    _report_skipped(root.name, skipped, len(indices))
    if not records:
        raise ValueError(f"{root}: no complete ScanNet frame (color/N.jpg, depth/N.png, pose/N.txt)")
    return RGBDSequence(root.name, records, K, K_for_color, depth_scale, SCANNET if align else None,
                        floor_config, skipped)


def _format_matrix(M: np.ndarray) -> str:
    """Rows of shortest round-trip float reprs (bit-exact when read back)."""
    return "".join(" ".join(repr(float(x)) for x in row) + "\n" for row in np.asarray(M, dtype=np.float64))


def write_scannet(
    frames: Iterable[Frame], out_dir: PathLike, depth_scale: float = 1000.0, jpeg_quality: int = 95
) -> None:
    """Write frames as a ScanNet export: ``color/N.jpg``, ``depth/N.png`` (uint16), ``pose/N.txt``, ``intrinsic/``.

    Poses are written bit-exact; depth is rounded to 1/depth_scale m (invalid, NaN and out-of-range → 0).
    All frames must share one K and size (ScanNet keeps one intrinsics file per scene).
    """
    out = Path(out_dir)
    for sub in ("color", "depth", "pose", "intrinsic"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    K0: Optional[np.ndarray] = None
    for n, f in enumerate(frames):
        if K0 is None:
            K0 = f.K
            K4 = np.eye(4)
            K4[:3, :3] = K0
            for name in ("intrinsic_color.txt", "intrinsic_depth.txt"):
                (out / "intrinsic" / name).write_text(_format_matrix(K4))
            for name in ("extrinsic_color.txt", "extrinsic_depth.txt"):
                (out / "intrinsic" / name).write_text(_format_matrix(np.eye(4)))
        elif not np.array_equal(f.K, K0):
            raise ValueError(f"frame {n}: intrinsics differ from frame 0's; ScanNet layout holds one K per scene")
        with np.errstate(invalid="ignore"):
            mm = np.round(np.nan_to_num(f.depth, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float64) * depth_scale)
        mm[(mm < 0) | (mm > 65535)] = 0
        Image.fromarray(mm.astype(np.uint16)).save(out / "depth" / f"{n}.png")
        Image.fromarray(f.rgb).save(out / "color" / f"{n}.jpg", quality=jpeg_quality)
        (out / "pose" / f"{n}.txt").write_text(_format_matrix(f.pose))
    if K0 is None:
        raise ValueError("write_scannet: no frames to write")
