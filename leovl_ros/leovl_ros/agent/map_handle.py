"""Thread-safe holder of the one fused map (VoxelStore) that the fusion and dialogue nodes share in a process.

The fusion worker writes the store, the dialogue node reads it, and the map services save, load and reset
it, all from different executor threads. ``MapHandle`` serialises them with one re-entrant lock and refuses
(``MapBusyError``) a save/load/reset that arrives while another save or load is still running, instead of
queueing it behind a long file write. No rclpy here: the nodes and ``leovl-ask`` use the same class.

Usage::

    handle = MapHandle(VoxelStore(VoxelStoreConfig()))
    with handle.locked() as store:      # read or write the store
        fuse_frame(store, frame, encoder)
    handle.save("map.npz")              # atomic; MapBusyError if another save/load runs
    handle.load("map.npz")              # ValueError (map unchanged) on a bad file
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional, Union

PathLike = Union[str, "os.PathLike[str]"]


class MapBusyError(RuntimeError):
    """A save or load is already running; the request was refused and the map is unchanged."""


class MapHandle:
    """Owns a VoxelStore-like object (``fuse/reset/save/load/version/__len__``) plus its lock."""

    def __init__(self, store: Any) -> None:
        """Wrap ``store``; every access from another thread must go through ``locked()`` or the helpers."""
        self._store = store
        self._lock = threading.RLock()
        self._io_lock = threading.Lock()
        self._io_op: Optional[str] = None

    @contextlib.contextmanager
    def locked(self) -> Iterator[Any]:
        """Hold the map lock and yield the store (fusion writes, dialogue reads, snapshots)."""
        with self._lock:
            yield self._store

    @contextlib.contextmanager
    def exclusive_io(self, operation: str) -> Iterator[None]:
        """Mark a long file operation as running; a second one meanwhile raises ``MapBusyError``."""
        if not self._io_lock.acquire(blocking=False):
            raise MapBusyError(f"map busy: a {self._io_op or 'file operation'} is running, try again later")
        self._io_op = operation
        try:
            yield
        finally:
            self._io_op = None
            self._io_lock.release()

    @property
    def busy(self) -> bool:
        """True while a save or load runs."""
        return self._io_lock.locked()

    @property
    def version(self) -> int:
        """The store's change counter (increments on every fuse/reset/load)."""
        with self._lock:
            return int(self._store.version)

    def __len__(self) -> int:
        """Occupied voxels."""
        with self._lock:
            return len(self._store)

    def reset(self) -> None:
        """Empty the map (refused while a save/load runs, so a save never writes a half-reset map)."""
        with self.exclusive_io("reset"), self._lock:
            self._store.reset()

    def save(self, path: PathLike) -> Path:
        """Write the map atomically to ``path`` (parent folders created); returns the resolved path."""
        target = Path(os.fspath(path)).expanduser().resolve()
        with self.exclusive_io("save"):
            target.parent.mkdir(parents=True, exist_ok=True)
            with self._lock:
                self._store.save(target)
        return target

    def load(self, path: PathLike) -> Path:
        """Replace the map with the file's content; on any error raise ``ValueError`` and keep the old map."""
        source = Path(os.fspath(path)).expanduser().resolve()
        with self.exclusive_io("load"):
            if not source.is_file():
                raise ValueError(f"map file not found: {source}")
            with self._lock:
                try:
                    self._store.load(source)
                except ValueError:
                    raise
                except Exception as exc:
                    raise ValueError(f"cannot load map {source}: {exc}") from exc
        return source


def new_map_handle(feature_dim: int, voxel_size: float = 0.05, capacity: int = 1_000_000,
                   compiled: bool = True) -> MapHandle:
    """An empty shared map for an encoder of ``feature_dim`` features."""
    from leovl_ros.cfg.voxel_store import VoxelStore, VoxelStoreConfig

    return MapHandle(VoxelStore(VoxelStoreConfig(voxel_size=voxel_size, feature_dim=feature_dim, capacity=capacity,
                                                 compiled=compiled)))
