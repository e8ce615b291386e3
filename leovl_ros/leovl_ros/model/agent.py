"""SpatialAgent: answers questions about a live voxel store (scene prefix cached per map version, session history)."""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import torch

from leovl_ros.model.leovl import LeoVLModel, ScenePrefix, class_presence, named_classes
from leovl_ros.model.map_objects import cluster_cells
from leovl_ros.model.numerics import flushed_denormals
from leovl_ros.sim.scene import CLASSES as OBJECT_CLASSES
from leovl_ros.sim.scene import COLOURS
from leovl_ros.sim.templates import colour_before

EMPTY_MAP_ANSWER = "I have not seen anything yet: the map is empty."


@dataclass
class AgentAnswer:
    """What the dialogue node and leovl-ask return for one question."""

    answer: str
    confidence: float = 0.0
    cell_ids: list[int] = field(default_factory=list)
    object_ids: list[int] = field(default_factory=list)
    scene_tokens: int = 0
    latency_ms: float = 0.0
    grounding_xyz: list[tuple] = field(default_factory=list)
    error: str = ""
    prompt_tokens: int = 0
    """Tokens of the per-question query (situation + history + question)."""
    answer_tokens: int = 0
    """Generated tokens."""
    model_answer: str = ""
    """What the language model said where the answer was measured on the map instead (``model.measure``); empty
    otherwise."""
    answer_types: list[str] = field(default_factory=list)
    """The question types the answer-type classifier found likely (``model.answer_types``; empty without one)."""


@dataclass
class _SceneCache:
    """The condensed scene and its KV prefix for one store version."""

    version: int
    batch: Any
    prefix: ScenePrefix
    store_ref: weakref.ref
    """Weak reference to the store it was built from (a version number is only unique within one store; an ``id()``
    is not unique either: a freed store's address is reused by the next one)."""
    built_s: float = field(default_factory=time.monotonic)
    """``time.monotonic()`` when it was built (callers may reuse a slightly older scene for a while)."""
    class_probs: Optional[np.ndarray] = None
    """``prefix.class_probs`` as a NumPy array, for the answer's time (``agent.answering.object_region``)."""
    footprints: Optional[np.ndarray] = None
    """``prefix.footprints`` as a NumPy array: which grounded object is the one the answer names
    (:func:`named_object_first`)."""
    colour_probs: Optional[np.ndarray] = None
    """``prefix.colour_probs`` as a NumPy array: which object of the answer's class has the colour the question
    names (:func:`named_object_first`)."""


SAME_OBJECT_CELLS = 1.5
"""Grounded cells within this many cell edges of each other belong to one object (object ids, ``last_seen``)."""


class SpatialAgent:
    """Question answering over a VoxelStore with a LeoVLModel; thread-safe, one question at a time."""

    def __init__(
        self,
        model: LeoVLModel,
        image_encoder: Optional[torch.nn.Module] = None,
        condense_config: Any = None,
        max_sessions: int = 64,
        top_cells: int = 5,
        max_new_tokens: int | None = None,
    ) -> None:
        from leovl_ros.cfg.condense import CondenseConfig

        self.model = model.eval()
        self.image_encoder = image_encoder
        self.condense_config = condense_config or CondenseConfig(**model.config.condense)
        self.max_sessions = max_sessions
        self.top_cells = top_cells
        self.max_new_tokens = max_new_tokens
        self._history: OrderedDict[str, deque[tuple[str, str]]] = OrderedDict()
        self._scene: Optional[_SceneCache] = None
        self._lock = threading.Lock()

    def scene_prefix(self, store: Any) -> _SceneCache:
        """Condense + encode + prefill, redone only when ``store.version`` changed."""
        from leovl_ros.cfg.condense import condense

        if not self.has_scene_of(store) or self._scene.version != store.version or self._scene.batch is None:
            batch = condense(store, self.condense_config)
            with torch.inference_mode(), flushed_denormals():
                prefix = self.model.scene_prefix(batch)
            as_numpy = lambda t: None if t is None else t.float().cpu().numpy()  # noqa: E731
            self._scene = _SceneCache(version=store.version, batch=batch, prefix=prefix, store_ref=weakref.ref(store),
                                      class_probs=as_numpy(prefix.class_probs),
                                      footprints=as_numpy(prefix.footprints),
                                      colour_probs=as_numpy(prefix.colour_probs))
        return self._scene

    @property
    def cached_scene(self) -> Optional[_SceneCache]:
        """The scene prefix built last (None before the first question)."""
        return self._scene

    def has_scene_of(self, store: Any) -> bool:
        """Whether the cached scene was built from ``store`` (any version of it)."""
        return self._scene is not None and self._scene.store_ref() is store

    def history(self, session_id: str) -> list[tuple[str, str]]:
        """The bounded dialogue history of a session (oldest first)."""
        return list(self._history.get(session_id, ()))

    def reset_session(self, session_id: str) -> None:
        """Forget a session's history."""
        self._history.pop(session_id, None)

    def answer(
        self,
        store: Any,
        question: str,
        session_id: str = "",
        situation_text: str = "",
        situation_pose: object = None,
        scene: Optional[_SceneCache] = None,
    ) -> AgentAnswer:
        """Answer one question about the store's current map, with grounding cells and timing; with ``scene`` (a
        ``scene_prefix`` result) about that scene instead, without touching ``store``."""
        t0 = time.perf_counter()
        question = (question or "").strip()
        if not question:
            return AgentAnswer(answer="", error="empty question", latency_ms=_ms(t0))
        if scene is None and (store is None or len(store) == 0):
            return AgentAnswer(answer=EMPTY_MAP_ANSWER, error="empty map", latency_ms=_ms(t0))
        with self._lock:
            scene = scene or self.scene_prefix(store)
            hist = self.history(session_id)
            with flushed_denormals():  # ~2x faster answers on CPU (leovl_ros.model.numerics)
                gen = self.model.generate(
                    scene.prefix, question, situation_text, situation_pose, hist, max_new_tokens=self.max_new_tokens
                )
            self._remember(session_id, question, gen.text)
        cells = named_object_first(scene.batch, self._grounded_cells(gen.scene_attention), gen.scene_attention,
                                   scene.footprints, gen.text, gen.measured_cells, question, scene.colour_probs)
        return AgentAnswer(
            answer=gen.text,
            confidence=gen.confidence,
            cell_ids=cells,
            object_ids=self.object_ids(scene.batch, cells),
            scene_tokens=int(scene.prefix.scene_span[1] - scene.prefix.scene_span[0]),
            latency_ms=_ms(t0),
            grounding_xyz=[self.cell_xyz(scene.batch, c) for c in cells],
            prompt_tokens=len(self.model.prompt(question, situation_text, situation_pose, hist).query),
            answer_tokens=len(gen.token_ids),
            model_answer=gen.model_text if gen.model_text != gen.text else "",
            answer_types=list(gen.answer_types),
        )

    def _remember(self, session_id: str, question: str, answer: str) -> None:
        """Append a turn to a session (bounded turns per session, least recently used sessions dropped)."""
        turns = self._history.setdefault(session_id, deque(maxlen=max(1, self.model.config.prompt.max_history)))
        turns.append((question, answer))
        self._history.move_to_end(session_id)
        while len(self._history) > self.max_sessions:
            self._history.popitem(last=False)

    def _grounded_cells(self, attention: torch.Tensor) -> list[int]:
        """CFG token indices with the most attention from the answer tokens."""
        if attention.numel() == 0:
            return []
        k = min(self.top_cells, attention.numel())
        return [int(i) for i in torch.topk(attention, k).indices]

    @staticmethod
    def cell_xyz(batch: Any, cell: int) -> tuple[float, float, float]:
        """Centre of a CFG cell at its column's mean height."""
        xy = batch.xy[cell]
        return (float(xy[0]), float(xy[1]), float(batch.mean_height[cell]))

    def presence(self, scene: _SceneCache) -> dict[str, float]:
        """Class → the model's presence probability of it in the scene (empty for a model without class presence):
        what the map's readers leave doubted classes out by (``model.measure.doubted_classes``)."""
        return class_presence(scene.prefix)

    def judged_absent(self, scene: _SceneCache, cls: str) -> bool:
        """Whether the model's absent gate would judge the room to hold no ``cls`` (its class-presence probability
        in the scene below the calibrated ``reader.absent_below``), for answers given before the model runs; False
        for a model without class presence or an uncalibrated gate."""
        below = self.model.config.reader.absent_below
        return below > 0.0 and self.presence(scene).get(cls, 1.0) < below

    @staticmethod
    def object_ids(batch: Any, cells: list[int]) -> list[int]:
        """Grounded objects: grounded cells clustered greedily by adjacency, each named by its most-attended cell."""
        return [o[0] for o in cluster_cells(batch.xy, batch.cell_size, cells, SAME_OBJECT_CELLS)]


COLOUR_CANDIDATE_FOOTPRINT = 0.5
"""When the question names the answered object's colour, every map object whose cells reach this footprint
probability of the class competes with the grounded ones (:func:`named_object_first`)."""


def named_object_first(batch: Any, cells: list[int], attention: torch.Tensor, footprints: Optional[np.ndarray],
                       answer: str, measured: Sequence[int] = (), question: str = "",
                       colour_probs: Optional[np.ndarray] = None) -> list[int]:
    """The grounded cells (most-attended first) with the object the answer names first: the object the map chose
    for a measured answer (``measured``, ``Generation.measured_cells``: "the first thing on my left") where there is
    one, else of the grounded objects (cells grouped as for object ids), the one with the most attention × the column
    classifier's footprint probability (``footprints`` [N, C]) of the one class the answer names, its cells in
    attention order, then the rest as they were; as many cells as given. The first object is the ``~/goal`` target
    and the one whose time is ``last_seen``: asked "when did you last see the lamp on the desk?", the desk may hold
    more attention than the lamp. When the question names that object's colour ("the violet carton"; ``colour_probs``
    [N, K] the 2D encoder's colour probabilities per cell), the map's other objects of the class compete too and the
    score is the object's strongest attention × footprint × its cells' footprint-weighted probability of that
    colour: with two boxes in the room, the attention alone often lands on the wrong one. Unchanged when the answer
    names no class (or several) or the model has no column classifier."""
    if measured:
        return ([*measured] + [c for c in cells if c not in measured])[: max(len(cells), 1)]
    named = named_classes(answer)
    if footprints is None or len(named) != 1 or not cells:
        return cells
    footprint = footprints[:, named[0]]
    weights = attention.double().flatten().cpu().numpy()
    objects = cluster_cells(batch.xy, batch.cell_size, cells, SAME_OBJECT_CELLS)
    colour = None if colour_probs is None else colour_before(question, OBJECT_CLASSES[named[0]])
    if colour is None:
        if len(cells) < 2:
            return cells
        best = max(objects, key=lambda o: float(weights[o].sum()) * float(footprint[o].max()))
        return best + [c for c in cells if c not in best]
    shade = colour_probs[:, list(COLOURS).index(colour)]
    spots = [int(c) for c in np.argsort(-footprint, kind="stable") if footprint[c] >= COLOUR_CANDIDATE_FOOTPRINT]
    objects += cluster_cells(batch.xy, batch.cell_size, spots, SAME_OBJECT_CELLS)

    def score(o: list[int]) -> float:
        share = float((shade[o] * footprint[o]).sum() / max(float(footprint[o].sum()), 1e-12))
        return float(weights[o].max()) * float(footprint[o].max()) * share

    best = sorted(max(objects, key=score), key=lambda c: -weights[c])
    return (best + [c for c in cells if c not in best])[: len(cells)]


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0
