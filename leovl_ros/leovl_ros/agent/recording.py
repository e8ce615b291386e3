"""A rerun recording (``.rrd``) of a session: camera images, the CFG cells, the trajectory and every answer's grounding.

For a map viewer where Rviz2 is absent (a laptop without ROS, a headless robot): ``rerun FILE.rrd`` opens what the
agent saw and answered. ROS-free; the nodes (``leovl-agent --rerun FILE``) and the demo call three methods::

    rec = Recorder("session.rrd")
    rec.log_frame(stamp_ns, rgb, depth, K, pose)       # fusion worker, per fused frame
    rec.log_cfg(batch, stamp_ns)                       # whenever ~/cfg is published (ColumnBatch)
    rec.log_answer(question, answer, grounding_xyz, grounding_size, stamp_ns=...)   # per answer
    rec.close()

The file is written by rerun-sdk's file sink (``RecordingStream.save``): no viewer is spawned and nothing listens
on a port. Entities (``map`` frame, z up, metres; one timeline ``stamp``, sensor/bag time in ns):

- ``world/camera``: the optical frame's pose (``Transform3D``, world ← optical); ``world/camera/image``: pinhole K
  with ``rgb`` (JPEG at ``jpeg_quality``, raw when None) and ``depth`` (uint16 mm, ``meter`` = 1000) below it.
- ``world/trajectory``: the camera centres so far as one line strip (re-logged every ``trajectory_every`` frames,
  at each ``log_cfg`` and at ``close``).
- ``world/cfg``: one point per CFG cell, coloured (the ``~/cfg`` colours, ``cfg_points``), radius half its cell.
- ``world/grounding``: per answer, the grounded cells as boxes labelled with the answer (empty when none);
  ``answers``: ``TextLog`` "Q: … A: …".

Thread-safe (a lock around each call: rerun's time cursor is per thread). ``read_recording`` reads a file back
(``rerun.chunk.RrdReader``, rerun-sdk ≥ 0.39) for tests and checks.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

import numpy as np

from leovl_ros.agent.cfg_points import cfg_columns, colours_to_uint8, to_numpy

TIMELINE = "stamp"
"""The one timeline: sensor (or bag) time of the frame or answer, as a timestamp."""
ENTITIES = {
    "camera": "world/camera",
    "image": "world/camera/image",
    "rgb": "world/camera/image/rgb",
    "depth": "world/camera/image/depth",
    "trajectory": "world/trajectory",
    "cfg": "world/cfg",
    "grounding": "world/grounding",
    "answers": "answers",
}
"""Entity paths of the recording (what ``read_recording`` and the tests look for)."""
GROUNDING_COLOUR = (255, 0, 255)
"""Highlight colour of grounded cells (the Rviz goal's magenta)."""


class Recorder:
    """Writes one ``.rrd`` file; every method is safe to call from any thread."""

    def __init__(self, path: str | os.PathLike, application_id: str = "leovl", recording_id: Optional[str] = None,
                 image_every: int = 1, jpeg_quality: Optional[int] = 85, trajectory_every: int = 10) -> None:
        """Open ``path`` for writing (parent folders created); ``image_every`` logs every n-th frame's images."""
        import rerun as rr

        if image_every < 1 or trajectory_every < 1:
            raise ValueError("image_every and trajectory_every must be >= 1")
        if jpeg_quality is not None and not 1 <= jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality must be in [1, 100] or None, got {jpeg_quality}")
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.image_every, self.jpeg_quality, self.trajectory_every = image_every, jpeg_quality, trajectory_every
        self._rr = rr
        self._lock = threading.Lock()
        self._rec = rr.RecordingStream(application_id, recording_id=recording_id)
        self._rec.save(str(self.path))
        self._rec.log("world", rr.ViewCoordinates.RIGHT_HAND_Z_UP, static=True)
        self._frames = 0
        self._answers = 0
        self._positions: list[np.ndarray] = []
        self._last_stamp_ns: Optional[int] = None
        self._last_K: Optional[tuple[tuple[float, ...], tuple[int, int]]] = None
        self._closed = False

    # ------------------------------------------------------------------------------------------------ time
    def _set_time(self, stamp_ns: Optional[int]) -> int:
        """Move the time cursor to ``stamp_ns`` (None: the last stamp logged, else the wall clock)."""
        if stamp_ns is None:
            stamp_ns = self._last_stamp_ns if self._last_stamp_ns is not None else time.time_ns()
        stamp_ns = int(stamp_ns)
        self._rec.set_time(TIMELINE, timestamp=np.datetime64(stamp_ns, "ns"))
        self._last_stamp_ns = stamp_ns
        return stamp_ns

    # ----------------------------------------------------------------------------------------------- logging
    def log_frame(self, stamp_ns: int, rgb: Optional[np.ndarray], depth: Optional[np.ndarray], K: Any,
                  pose: Any) -> None:
        """One fused frame: pose (4×4 world ← optical), intrinsics K (3×3), H×W×3 uint8 RGB, H×W float metres."""
        rr = self._rr
        T = np.asarray(to_numpy(pose), dtype=np.float64).reshape(4, 4)
        with self._lock:
            if self._closed:
                return
            self._set_time(stamp_ns)
            self._rec.log(ENTITIES["camera"], rr.Transform3D(translation=T[:3, 3], mat3x3=T[:3, :3]))
            self._positions.append(T[:3, 3].astype(np.float32))
            if self._frames % self.image_every == 0:
                self._log_images(rgb, depth, K)
            self._frames += 1
            if self._frames % self.trajectory_every == 0:
                self._log_trajectory()

    def _log_images(self, rgb: Optional[np.ndarray], depth: Optional[np.ndarray], K: Any) -> None:
        """Pinhole (when K or the size changed) and the images of one frame."""
        rr = self._rr
        image = rgb if rgb is not None else depth
        if image is None:
            return
        h, w = np.asarray(image).shape[:2]
        k = tuple(float(v) for v in np.asarray(to_numpy(K), dtype=np.float64).reshape(-1))
        if self._last_K != (k, (w, h)):
            self._rec.log(ENTITIES["image"], rr.Pinhole(image_from_camera=np.reshape(k, (3, 3)), resolution=[w, h],
                                                        camera_xyz=rr.ViewCoordinates.RDF))
            self._last_K = (k, (w, h))
        if rgb is not None:
            img = rr.Image(np.ascontiguousarray(rgb, dtype=np.uint8))
            self._rec.log(ENTITIES["rgb"], img.compress(jpeg_quality=self.jpeg_quality) if self.jpeg_quality else img)
        if depth is not None:
            d = np.asarray(depth, dtype=np.float64)
            with np.errstate(invalid="ignore"):
                ok = np.isfinite(d) & (d > 0) & (d * 1000.0 < 65535.5)
            mm = np.where(ok, np.rint(np.where(ok, d, 0.0) * 1000.0), 0).astype(np.uint16)
            self._rec.log(ENTITIES["depth"], rr.DepthImage(mm, meter=1000.0))

    def _log_trajectory(self) -> None:
        """The camera centres so far as one line strip."""
        if len(self._positions) >= 2:
            self._rec.log(ENTITIES["trajectory"], self._rr.LineStrips3D([np.stack(self._positions)],
                                                                       colors=[(255, 200, 0)], radii=0.01))

    def log_cfg(self, batch: Any, stamp_ns: Optional[int] = None) -> None:
        """The CFG (a ``ColumnBatch``, or ``cfg_columns``' dict) as coloured points, one per cell."""
        cols = batch if isinstance(batch, dict) else cfg_columns(batch)
        with self._lock:
            if self._closed:
                return
            self._set_time(stamp_ns)
            self._rec.log(ENTITIES["cfg"], self._rr.Points3D(cols["xyz"], colors=colours_to_uint8(cols["colour"]),
                                                            radii=np.asarray(cols["cell_size"], np.float32) / 2))
            self._log_trajectory()

    def log_answer(self, question: str, answer: str, grounding_xyz: Any = (), grounding_size: Any = None,
                   stamp_ns: Optional[int] = None) -> None:
        """One answer: its text, and its grounded cells (N×3 centres, N edge lengths; default 0.3 m) highlighted."""
        rr = self._rr
        xyz = np.asarray(to_numpy(grounding_xyz), dtype=np.float32).reshape(-1, 3)
        size = (np.full(len(xyz), 0.3, np.float32) if grounding_size is None or len(grounding_size) == 0
                else np.asarray(to_numpy(grounding_size), dtype=np.float32).reshape(-1))
        if len(size) != len(xyz):
            raise ValueError(f"{len(xyz)} grounded cells but {len(size)} sizes")
        with self._lock:
            if self._closed:
                return
            self._set_time(stamp_ns)
            self._answers += 1
            self._rec.log(ENTITIES["grounding"], rr.Boxes3D(
                centers=xyz, half_sizes=np.repeat(size[:, None] / 2, 3, axis=1), colors=[GROUNDING_COLOUR] * len(xyz),
                labels=[answer] * len(xyz)))
            self._rec.log(ENTITIES["answers"], rr.TextLog(f"Q: {question}\nA: {answer} ({len(xyz)} grounded cells)",
                                                          level="INFO"))

    def log_reply(self, question: str, reply: Any, stamp_ns: Optional[int] = None) -> None:
        """``log_answer`` from an ``answering.Reply`` (its answer, or the error text of a rejected question)."""
        text = reply.answer if reply.success or reply.answer else f"(rejected: {reply.error})"
        self.log_answer(question, text, reply.grounding_xyz, reply.grounding_size, stamp_ns)

    @property
    def counts(self) -> dict[str, int]:
        """Frames and answers logged so far."""
        return {"frames": self._frames, "answers": self._answers}

    def close(self) -> None:
        """Write the trajectory, flush and close the file (later calls are ignored)."""
        with self._lock:
            if self._closed:
                return
            self._log_trajectory()
            self._closed = True
            self._rec.flush()
            self._rec.disconnect()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_recording(path: str | os.PathLike) -> dict[str, list[dict[str, Any]]]:
    """A ``.rrd`` read back: entity path (no leading /) → one dict per logged row (column name → Python value).

    Components keep rerun's column names (``Points3D:positions``, ``TextLog:text``, ``Image:buffer``, …) and the
    timeline ``stamp`` (nanoseconds). Uses ``rerun.chunk.RrdReader`` (rerun-sdk ≥ 0.39), chunk by chunk as written:
    a file whose writer was killed before closing it (no footer) reads as far as it was written.
    """
    import pyarrow as pa
    from rerun.chunk import RrdReader

    rows: dict[str, list[dict[str, Any]]] = {}
    for chunk in RrdReader(str(path)).stream():
        batch = chunk.to_record_batch()
        names = [n for n in batch.schema.names if not n.startswith("rerun.controls")]
        columns = {}
        for n in names:
            col = batch.column(n)
            if pa.types.is_timestamp(col.type) or pa.types.is_duration(col.type):
                col = col.cast(pa.int64())  # nanoseconds, exactly
            columns[n] = col.to_pylist()
        entity = str(chunk.entity_path).lstrip("/")
        for i in range(batch.num_rows):
            rows.setdefault(entity, []).append({n: columns[n][i] for n in names})
    for entries in rows.values():
        if entries and TIMELINE in entries[0]:
            entries.sort(key=lambda r: (r.get(TIMELINE) is None, r.get(TIMELINE) or 0))
    return rows


def cfg_cells_in(rows: dict[str, list[dict[str, Any]]]) -> Sequence[Any]:
    """The CFG point sets of a recording read back (one list of positions per ``log_cfg``)."""
    return [r["Points3D:positions"] for r in rows.get(ENTITIES["cfg"], []) if r.get("Points3D:positions")]


def recording_summary(path: str | os.PathLike) -> dict[str, int]:
    """Counts in a ``.rrd``: frames (poses), images, depth images, CFG snapshots, groundings and answer texts."""
    rows = read_recording(path)
    return {"frames": len(rows.get(ENTITIES["camera"], [])), "images": len(rows.get(ENTITIES["rgb"], [])),
            "depth_images": len(rows.get(ENTITIES["depth"], [])), "cfg": len(cfg_cells_in(rows)),
            "groundings": len(rows.get(ENTITIES["grounding"], [])), "answers": len(rows.get(ENTITIES["answers"], []))}
