"""Metric answers measured on the map from the objects an answer attends to, instead of guessed by the LLM.

Asked "how far is the sofa from the lamp?", "is the lamp next to the bed?" or, standing somewhere, "is the lamp on
my left or my right?", the language model answers from what the scene tokens say of the objects' positions: on
held-out rooms it says the right half metre 16 % of the time and the right yes/no to "next to" 41 % of the time (it
says "yes" to 73 % of them; 36 % are yes). The reader's attention for such a question lies on the objects, and the
map knows where its cells are. The two objects holding the most attention (:func:`attended_pair`) give
- a distance answer: the floor-plan distance between their attention-weighted centres, rounded as the answers are
  (nearest 0.5 m);
- a yes/no answer to a spatial-relation question (in the training data, only "is X next to Y?"; the answer types
  tell): "yes" when some cells of the two lie within ``NEXT_TO_M`` of each other;
and, for a question asked with the asker's pose, the most-attended object's bearing from that pose gives
- a direction answer (front / behind / left / right): "left" or "right" by the bearing's side when the question
  offers only those two (:func:`asks_side`), else the 90° sector the bearing falls in;
and the column classifier's class footprints (``LeoVLModel.class_footprints``) give
- a count above zero to "how many <class>?" asked of the whole room: the groups of adjacent columns where that
  class's footprint probability exceeds ``COUNT_MIN_P`` (:func:`measured_count`), at most one more than the model
  said. "Zero" stays the model's and the absent gate's: the map would say zero for present objects it detects
  poorly; and a map that splits one object into several (real frames) would count far too many.
Held-out (training / held-out wordings): distance 15.8 / 17.8 → 35.6 / 41.6 %, next-to 46 / 37 → 62 / 73 %,
situated direction 89.1 / 81.8 → 91.6 / 90.9 %, counting 63.6 / 64.7 → 74.5 / 75.9 % (``docs/experiments.md``,
"Metric answers measured on the map"). ROS-free; :meth:`LeoVLModel.generate` applies it to every answer.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Optional

import torch

from leovl_ros.sim.scene import CLASSES
from leovl_ros.sim.spatial import SECTORS, bearing
from leovl_ros.sim.templates import NO, NUMBER_WORDS, YES, classes_named, count_word, metres

MEASURE_TOP_CELLS = 8
"""How many of the most-attended cells a measurement looks at (on 504 distance questions of 240 validation rooms,
right answers at ``MEASURE_SAME_OBJECT_CELLS``: 3 → 27.0 %, 5 → 31.0 %, 8 → 33.5 %, 10 → 32.5 %, 30 → 33.7 %: a
plateau from 8)."""

MEASURE_SAME_OBJECT_CELLS = 3.0
"""Cells within this many cell edges of an object's most-attended cell belong to that object when measuring (1.5 →
30.0 %, 2.5 → 33.1 %, 3.0 → 33.5 % on the validation distances: a bed or a table spans more than the grounding's
1.5)."""

NEXT_TO_M = 0.6
"""Two objects are next to each other when some cells of theirs have centres this close (m): the data's next-to
footprint gap (0.5 m) on the 0.3 m cell lattice, two cell edges. On 470 validation next-to questions: 0.45 → 72.8 %,
0.6 → 74.5 %, 0.75 → 74.0 %, 0.9 → 71.9 %, 1.0 → 73.2 %, 1.5 → 64.5 % right (the model: 42.1 %)."""

DISTANCE_ANSWER = re.compile(r"^\d+(?:\.\d+)? meters?$")
"""A distance answer of the training data ('2.5 meters')."""

RELATION_TYPE = "spatial_relation"
"""The answer type whose yes/no answers are next-to judgements (``model.answer_types``)."""

COUNTING_TYPE = "counting"
"""The answer type of "how many <class>?" about the whole room (``model.answer_types``)."""

COUNT_MIN_P = 0.7
"""A column counts towards a class when the column classifier's footprint probability of it exceeds this. On 1,372
validation counting questions (model 63.9 %; ``COUNT_SAME_OBJECT_CELLS`` 2): 0.6 → 72.4 %, 0.7 → 73.1 %, 0.8 →
71.5 % right when every answer is counted; keeping the model's "zero", 73.7 %; also at most one above the model's
count, 74.5 % (the map's count only where it is within one of the model's: 74.3 %)."""

COUNT_SAME_OBJECT_CELLS = 2.0
"""Counted columns within this many cell edges of each other are one object (at ``COUNT_MIN_P``: 1.0 → 62.7 %, 1.5 →
64.6 %, 2.0 → 73.1 %, 2.5 → 73.0 % on the validation questions)."""


@dataclass
class AskedQuestion:
    """What measuring needs to know of a question besides its answer: its words, the answer types decoding kept to,
    the asker's planar pose (map x, y, yaw), whether it was asked from a situation (text or pose), and the answers
    decoding could give (the likely types' closed sets; None when open): a measurement outside them ("five" chairs
    where rooms hold at most four, a distance beyond the largest room) is not used; the object classes it names
    (read from ``text`` unless given)."""

    text: str = ""
    answer_types: list[str] = field(default_factory=list)
    pose: Optional[tuple[float, float, float]] = None
    situated: bool = False
    answers: Optional[frozenset[str]] = None
    named: Optional[list[str]] = None

    def __post_init__(self) -> None:
        if self.named is None:
            self.named = [c for c in classes_named(self.text) if c in CLASSES]

_SIDES = re.compile(r"\b(?:left|right)\b")
_AHEAD_OR_BEHIND = re.compile(r"\b(?:front|behind|ahead|back|backwards|forward|forwards)\b")


def cluster_cells(xy: torch.Tensor, cell_size: torch.Tensor, cells: list[int], reach: float) -> list[list[int]]:
    """``cells`` (most important first) grouped greedily into objects: a cell joins the first object whose first
    cell lies within ``reach`` of its own cell edges, else starts an object. Objects in order of their first cell."""
    objects: list[list[int]] = []
    for c in cells:
        limit = reach * float(cell_size[c]) + 1e-6
        home = next((o for o in objects if float(torch.linalg.norm(xy[c].double() - xy[o[0]].double())) <= limit),
                    None)
        if home is None:
            objects.append([c])
        else:
            home.append(c)
    return objects


def attended_objects(attention: torch.Tensor, xy: torch.Tensor, cell_size: torch.Tensor,
                     top: int = MEASURE_TOP_CELLS, reach: float = MEASURE_SAME_OBJECT_CELLS) -> list[list[int]]:
    """The ``top`` most-attended cells grouped into objects (:func:`cluster_cells`), the heaviest first; objects
    without attention left out; empty when the attention does not fit the map or carries nothing."""
    attention = attention.double().flatten()
    if attention.numel() == 0 or attention.numel() != len(xy) or not float(attention.max()) > 0.0:
        return []
    cells = [int(c) for c in torch.topk(attention, min(top, attention.numel())).indices]
    objects = sorted(cluster_cells(xy, cell_size, cells, reach), key=lambda o: -float(attention[o].sum()))
    return [o for o in objects if float(attention[o].sum()) > 0.0]


def attended_pair(attention: torch.Tensor, xy: torch.Tensor, cell_size: torch.Tensor,
                  top: int = MEASURE_TOP_CELLS, reach: float = MEASURE_SAME_OBJECT_CELLS
                  ) -> Optional[tuple[list[int], list[int]]]:
    """The cells of the two objects holding the most attention among the ``top`` most-attended cells, heavier
    first; None when they form fewer than two objects with attention."""
    objects = attended_objects(attention, xy, cell_size, top, reach)
    return (objects[0], objects[1]) if len(objects) >= 2 else None


def attended_centre(attention: torch.Tensor, xy: torch.Tensor, cells: list[int]) -> torch.Tensor:
    """Attention-weighted mean position (float64 [2]) of some cells."""
    weights = attention.double().flatten()[cells]
    return (xy[cells].double() * weights[:, None]).sum(0) / weights.sum()


def measured_distance(attention: torch.Tensor, xy: torch.Tensor, cell_size: torch.Tensor) -> Optional[float]:
    """Floor-plan distance (m) between the attention-weighted centres of the :func:`attended_pair`; None without
    one."""
    pair = attended_pair(attention, xy, cell_size)
    if pair is None:
        return None
    return float(torch.linalg.norm(attended_centre(attention, xy, pair[0]) - attended_centre(attention, xy, pair[1])))


def measured_next_to(attention: torch.Tensor, xy: torch.Tensor, cell_size: torch.Tensor) -> Optional[bool]:
    """Whether the :func:`attended_pair` has cells within ``NEXT_TO_M`` of each other; None without a pair."""
    pair = attended_pair(attention, xy, cell_size)
    if pair is None:
        return None
    return bool(torch.cdist(xy[pair[0]].double(), xy[pair[1]].double()).min() <= NEXT_TO_M + 1e-6)


def asks_side(question: str) -> bool:
    """Whether a direction question offers only left and right ("is the lamp on my left or my right?"), not the
    front or the back ("where is the lamp relative to me?", "is it in front of me, behind me, …?")."""
    words = question.lower()
    return bool(_SIDES.search(words)) and not _AHEAD_OR_BEHIND.search(words)


def measured_direction(attention: torch.Tensor, xy: torch.Tensor, cell_size: torch.Tensor,
                       pose: tuple[float, float, float], question: str) -> Optional[str]:
    """Where the most-attended object lies for an asker at ``pose`` (map x, y, yaw): its side (:func:`asks_side`
    questions) or its 90° sector (``sim.spatial.SECTORS``, front centred on the facing); None without an object."""
    objects = attended_objects(attention, xy, cell_size)
    if not objects:
        return None
    angle = bearing((pose[0], pose[1]), pose[2], attended_centre(attention, xy, objects[0]).numpy())
    if asks_side(question):
        return "left" if angle > 0.0 else "right"
    return SECTORS[int(((angle + math.pi / 4) // (math.pi / 2)) % 4)]


def measured_count(footprint: torch.Tensor, xy: torch.Tensor, cell_size: torch.Tensor) -> int:
    """How many objects of a class the map holds: groups of columns whose footprint probability of it (``footprint``
    [N]) exceeds ``COUNT_MIN_P``, a column joining a group when within ``COUNT_SAME_OBJECT_CELLS`` cell edges of one
    of its columns."""
    cells = torch.nonzero(footprint > COUNT_MIN_P).flatten().tolist()
    if not cells:
        return 0
    points = xy[cells].double()
    reach = COUNT_SAME_OBJECT_CELLS * cell_size[cells].double()
    near = torch.cdist(points, points) <= torch.maximum(reach[:, None], reach[None, :]) + 1e-6
    group = list(range(len(cells)))  # union-find over the adjacency

    def root(i: int) -> int:
        while group[i] != i:
            group[i] = group[group[i]]
            i = group[i]
        return i

    for i, j in torch.nonzero(near).tolist():
        group[root(i)] = root(j)
    return len({root(i) for i in range(len(cells))})


def distance_text(distance: float) -> str:
    """The answer for a measured distance, as the training data words it: the nearest 0.5 m, at least 0.5."""
    return metres(max(0.5, round(distance * 2.0) / 2.0))


def measured_answer(text: str, attention: torch.Tensor, scene: Any, question: AskedQuestion) -> str:
    """``text`` with what the map measures in its place: a distance answer by the distance, a yes/no answer to a
    spatial-relation question by the next-to judgement, a direction answer to a question asked at a pose by the
    direction from it, a count above zero to a room-wide "how many <class>?" by the count (at most one above).
    ``scene`` carries the map geometry (``xy``, ``cell_size``, ``footprints``: a ``ScenePrefix``). Any other
    answer, or one the map cannot measure (too few attended objects, no geometry), as it is."""
    xy, cell_size = getattr(scene, "xy", None), getattr(scene, "cell_size", None)
    if xy is None or cell_size is None:
        return text
    xy, cell_size = xy.cpu(), cell_size.cpu()
    measured: Optional[str] = None
    if DISTANCE_ANSWER.match(text):
        distance = measured_distance(attention, xy, cell_size)
        measured = None if distance is None else distance_text(distance)
    elif text in (YES, NO) and RELATION_TYPE in question.answer_types:
        near = measured_next_to(attention, xy, cell_size)
        measured = None if near is None else (YES if near else NO)
    elif text in SECTORS and question.pose is not None:
        measured = measured_direction(attention, xy, cell_size, question.pose, question.text)
    elif text in NUMBER_WORDS[1:] and COUNTING_TYPE in question.answer_types and not question.situated:
        footprints = getattr(scene, "footprints", None)
        if len(question.named) == 1 and footprints is not None:
            count = measured_count(footprints[:, CLASSES.index(question.named[0])].cpu(), xy, cell_size)
            measured = count_word(min(count, NUMBER_WORDS.index(text) + 1)) if count > 0 else None
    if measured is None or (question.answers is not None and measured not in question.answers):
        return text
    return measured
