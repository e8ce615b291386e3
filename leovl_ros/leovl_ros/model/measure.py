"""Metric answers measured on the map from the objects an answer attends to, instead of guessed by the LLM.

Asked "how far is the sofa from the lamp?", "is the lamp next to the bed?" or, standing somewhere, "is the lamp on
my left or my right?", the language model answers from what the scene tokens say of the objects' positions: on
held-out rooms it says the right half metre 16 % of the time and the right yes/no to "next to" 41 % of the time (it
says "yes" to 73 % of them; 36 % are yes). The reader's attention for such a question lies on the objects, and the
map knows where its cells are. The two objects holding the most attention (:func:`attended_pair`) give
- a distance answer where the question does not name two classes the map shows (one it has not seen): the
  floor-plan distance between their attention-weighted centres, rounded as the answers are (nearest 0.5 m); where
  it names a door or a window, which the map's classes do not hold, that it cannot place it (``OPENING_UNKNOWN``);
- a yes/no answer to a spatial-relation question (in the training data, only "is X next to Y?"; the answer types
  tell): "yes" when some cells of the two lie within ``NEXT_TO_M`` of each other;
and, for a question asked with the asker's pose, the most-attended object's bearing from that pose gives
- a direction answer (front / behind / left / right): "left" or "right" by the bearing's side when the question
  offers only those two (:func:`asks_side`), else the 90° sector the bearing falls in;
and the column classifier's class footprints (``LeoVLModel.class_footprints``), grouped into objects by
``model.map_objects`` (:func:`class_objects`; the one a question names is its class's most-attended:
:func:`attended_class_object`), give
- a distance answer between two named classes: their objects' centres (:func:`named_objects_distance`);
- a yes/no next-to judgement between two named classes: any of their objects within ``NEXT_TO_M``
  (:func:`named_next_to`), before the attended pair;
- the colour of the one named class's object, from the 2D encoder's colour heads
  (``room_questions.measured_colour``);
- the class nearest to / farthest from a named class's object (:func:`measured_extreme`), grounded on that object;
- the class a relation question asks for — what X stands on, what is next to X, what is between X and Y
  (:func:`measured_relation_object`), grounded on that object;
- the class a class question asks for — what is on X, the biggest / smallest thing (:func:`measured_class`);
- a count above zero to "how many <class>?" asked of the whole room: the groups of adjacent columns where that
  class's footprint probability exceeds ``COUNT_MIN_P`` (:func:`measured_count`), at most one more than the model
  said. "Zero" stays the model's and the absent gate's: the map would say zero for present objects it detects
  poorly; and a map that splits one object into several (real frames) would count far too many.
and the footprints with a class's typical size (``sim.furnish.CLASS_SPECS``) give
- the answer to a size comparison of two named classes ("which is bigger, the bin or the cushion?", "is the lamp
  bigger than the stool?"): each class's most-attended object on the map, sized as its class typically is where it
  stands (a lamp on a desk is small, a floor lamp is not: :func:`stands_on_support`);
- for a question asked at a pose, "what is the first thing on my left?": the nearest floor-standing object whose
  centre lies within 45° of the asked direction (:func:`measured_situated_object`), which also grounds the answer
  (``Measurement.cells``: the ``~/goal``); "how many chairs are on my left?": the class's objects there, "zero"
  included, at most one more than the model said (:func:`measured_situated_count`); "how do I get to the sofa?":
  the first step towards the named class's most-attended object and the walk to it (:func:`measured_route`), which
  also grounds the answer;
- for questions the model was never trained on, read by their words ("where is the chair?", "what do you see?",
  "describe the room", "how big is the bed?", "which is closer to the bed, the desk or the stool?"): the map's
  answer (``model.room_questions``, asked first by :func:`measured_answer`).
Held-out (training / held-out wordings): distance 15.8 / 17.8 → 35.6 / 41.6 (attended pair) → 55.4 / 56.4 %
(named objects), nearest 36.6 / 32.7 → 50.5 / 49.5 %, farthest 59.0 / 60.2 → 67.5 / 68.7 %, spatial relation
47.6 / 43.4 → 55.6 / 57.7 (next-to yes / no: 46 / 37 → 62 / 73 %) → 63.6 / 67.5 % (relation objects), situated
direction 89.1 / 81.8 → 91.6 / 90.9 %, counting 63.6 / 64.7 → 74.5 / 75.9 %, class 66.8 / 59.8 → 71.0 / 63.3 %;
outside the held-out mix (held-out rooms, ``benchmarks/trained_types.py``): sizes 58.5 → 92.5 %, the first thing
in a direction 25.8 → 80.5 %, situated counts 69.0 → 80.0 %, routes 0 → 82.1 %. Those figures are of
2026-12-06; since 2026-12-07 a distance naming a door or a window says it cannot be placed, and colour and next-to
yes/no are read off the map: on the generator's questions through the answer path (60 held-out rooms, not the
2,000-question set) distance 50.0 → 46.7 %, colour 73.1 → 81.9 %, next-to yes / no 71.7 → 76.1 %. How each was
chosen: ``docs/experiments.md``. ROS-free; :meth:`LeoVLModel.generate` applies it to every answer.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Optional

import torch

from leovl_ros.model.map_objects import (
    CANDIDATE_MIN_P,
    NAMED_OBJECT_MIN_P,
    ON_CLASSES,
    SUPPORT_CLASSES,
    attended_centre,
    attended_class_object,
    attended_objects,
    attended_pair,
    class_objects,
    distance_around,
    distance_in_direction,
    floor_objects,
    likeliest_class,
    most_probable_first,
    object_centre,
    object_sharing,
    offset_between,
    other_objects,
    stands_on_floor,
    stands_on_support,
    typical_volume,
)
from leovl_ros.sim.furnish import CLASS_SPECS
from leovl_ros.sim.scene import CLASSES, COLOURS
from leovl_ros.sim.spatial import SECTORS, bearing
from leovl_ros.sim.templates import (
    NO,
    NUMBER_WORDS,
    YES,
    classes_named,
    count_word,
    metres,
)

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

COLOUR_TYPE = "colour"
"""The answer type of "what colour is the desk?" (``model.answer_types``)."""

EXISTENCE_TYPE = "existence"
"""The answer type of "is there a sofa?": the one whose "no" says the asked class is absent."""


SIZE_TYPE = "size"
"""The answer type of size comparisons ("which is bigger, …?", "is the bin bigger than the cushion?")."""


SITUATED_OBJECT_TYPE = "situated_object"
"""The answer type of "what is the first thing on my left?" asked at a pose."""

SITUATED_COUNTING_TYPE = "situated_counting"
"""The answer type of "how many chairs are on my left?" asked at a pose."""

COUNTING_TYPES = (COUNTING_TYPE, SITUATED_COUNTING_TYPE)
"""The answer types whose "zero" says there is none of the asked class."""

NEAREST_TYPES = ("nearest", "farthest")
"""The answer types of "what is nearest to the stool?" and "what is farthest from the tv?"."""


CLASS_TYPE = "class"
"""The answer type of "what is on the desk?" and "what is the biggest thing here?"."""


SUPPORT_SHARE_MIN = 0.4
"""A support class is what an object stands on when its footprint probability averages above this over the object's
columns. On 289 validation "what is X standing on?" questions (the model 59.7 %): 0 / 0.2 / 0.4 → 63.3 / 66.8 /
67.5 %."""

SUPPORT_BESIDE_M = 0.45
"""A class that never stands on the floor stands on a support whose columns lie this close to its own (m; one and a
half cell edges on the 0.3 m lattice) where its own columns show none: a TV covers the middle of the desk under it."""


ROUTE_STRAIGHT_DEG = 30.0
"""A route's first step is "go straight" when the object's centre lies within this many degrees of the facing,
"turn around" beyond 180 minus it, else "turn left" / "turn right" (the training data leaves 20–40° and 140–160°
unasked: the middles of those gaps)."""

ROUTE_EDGE_M = 0.05
"""A route's walk ends at the object's nearest column centre less this (m): the footprint's edge lies between the
column centre and the cell's edge. On 921 validation "how do I get to X?" questions asked at a pose (the model:
0 %, it answers "3.5 meters"), whole answers right at 0 / 0.025 / 0.05 / 0.1 / 0.15 m: 80.0 / 82.0 / 81.7 / 80.5 /
78.3 % (the nearest cell square instead: 73.0 %); the first step alone 92.9 %."""


SAME_OBJECT_SHARE = 0.5
"""Two floor-standing objects of different classes sharing at least this share of the smaller one's columns are one
object read as two classes (a desk also read as a table), not neighbours (:func:`nearest_neighbour`)."""


SITUATED_RANGE_M = 4.0
"""Objects farther than this (m) are not "the first thing" in a direction (the training data's range). Floor
objects at ``COUNT_MIN_P`` 0.7 / 0.5: 83.9 / 79.5 % on the validation questions; all objects, those standing on a
support too: 75.7 %."""


PRESENCE_MIN = 0.5
"""A class the map shows is listed in "what do you see?", or named as what an object stands beside, only when the
model's presence probability of it is at least this (:func:`doubted_classes`): the column classifier reads
look-alikes (a desk's columns as a table, a sofa's as a bed) that the room-level presence head doubts. The same holds
for every measured answer naming an object other than the asked one (:func:`without_doubted`: nearest, farthest,
biggest, what is on / next to / between, the first thing on my left): on 40 validation rooms (631 generated
questions of those types, ``class`` / ``nearest`` / ``farthest`` / ``spatial_relation``) EM none / 0.066 / 0.2 /
**0.5** / 0.7 → 67.7 / 69.9 / 70.2 / **70.7** / 70.8 %. Location answers on 60
validation rooms (300 questions): none / 0.066 (the absent gate's) / 0.3 / 0.5 → 73.0 / 77.3 / 78.7 / 79.7 % right
(also for what it stands on: 79.7 %, not used). Inventories on 40 validation rooms (80 questions): none / 0.066 /
0.15 / 0.3 / 0.5 / 0.68 / 0.8 → precision 86.5 / 92.3 / 94.1 / 95.4 / 96.3 / 97.6 / 97.9 %, recall 94.8 / 94.8 /
94.8 / 94.4 / 94.1 / 92.8 / 90.2 % (F1 0.905 / 0.935 / 0.944 / 0.949 / 0.952 / 0.951 / 0.939)."""


@dataclass
class AskedQuestion:
    """What measuring needs to know of a question besides its answer: its words, the answer types decoding kept to,
    the asker's planar pose (map x, y, yaw), whether it was asked from a situation (text or pose), and the answers
    decoding could give (the likely types' closed sets; None when open): a measurement outside them ("five" chairs
    where rooms hold at most four, a distance beyond the largest room) is not used; the object classes it names
    (read from ``text`` unless given); whether the absent gate judged the named class absent; the model's class
    presence probabilities."""

    text: str = ""
    answer_types: list[str] = field(default_factory=list)
    pose: Optional[tuple[float, float, float]] = None
    situated: bool = False
    answers: Optional[frozenset[str]] = None
    named: Optional[list[str]] = None
    absent: bool = False
    """The absent gate judged the class the question names absent (``LeoVLModel._absent_gate``)."""
    presence: dict[str, float] = field(default_factory=dict)
    """Class → the model's presence probability of it in the room (empty for a model without class presence)."""

    def __post_init__(self) -> None:
        if self.named is None:
            self.named = [c for c in classes_named(self.text) if c in CLASSES]


OPENING_UNKNOWN = "I cannot place the {opening}: my map holds the room's objects, not its doors and windows"
"""The answer to how far a door or a window is, whether something is next to one, where one is, or which of two
things is closer to one: the words know them, the map's classes do not. The model guessed: on 51 validation distance
questions naming one, 5.9 % right."""


def opening_named(text: str) -> Optional[str]:
    """The first door or window a text names (a phrasing the words know and the map's classes do not); None."""
    return next((c for c in classes_named(text) if c not in CLASSES), None)


@dataclass
class Measurement:
    """An answer, and the map columns of the object it names where the map chose that object ("the first thing on
    my left"), in grounding order; empty where the attended objects are the grounding."""

    text: str
    cells: list[int] = field(default_factory=list)


_SIDES = re.compile(r"\b(?:left|right)\b")
BIGGER = re.compile(r"\b(?:bigger|larger|greater|more (?:space|room))\b")
SMALLER = re.compile(r"\b(?:smaller|tinier|less (?:space|room))\b")
THAN = re.compile(r"\bthan\b")
_ARTICLES = frozenset({"the", "a", "an", "this", "that"})
_SECTOR_WORDS = {"front": re.compile(r"\b(?:front|ahead)\b"), "left": re.compile(r"\bleft\b"),
                 "right": re.compile(r"\bright\b"), "behind": re.compile(r"\b(?:behind|back)\b")}
_NEAREST = re.compile(r"\b(?:nearest|closest)\b")
_FARTHEST = re.compile(r"\b(?:farthest|furthest|most distant)\b")
_ON = re.compile(r"\bon\b")
_BIGGEST = re.compile(r"\b(?:biggest|largest)\b")
_SMALLEST = re.compile(r"\b(?:smallest|tiniest)\b")
_ENDS_ON = re.compile(r"\bon(?: top of)?\W*(?:please\W*)?$")
_RELATION_WORDS: dict[str, tuple[tuple[str, ...], tuple[tuple[str, str], ...]]] = {
    "between": (("between", "separates"), ()),
    "support": (("under", "underneath", "beneath", "support", "base"), (("holding", "up"),)),
    "next_to": (("beside", "by", "near", "neighbour", "neighbor", "side", "adjacent"), (("next", "to"),)),
}
"""Words (and word pairs) that say which object a spatial-relation question asks for (:func:`relation_asked`)."""
_ROUTE_WORDS: tuple[tuple[str, ...], tuple[tuple[str, str], ...]] = (
    ("reach", "guide", "navigate"),
    (("get", "to"), ("go", "to"), ("walk", "to"), ("way", "to"), ("take", "me"), ("lead", "me")))
"""Words and word pairs of a route question (:func:`asks_route`)."""
_AHEAD_OR_BEHIND = re.compile(r"\b(?:front|behind|ahead|back|backwards|forward|forwards)\b")


def measured_distance(attention: torch.Tensor, xy: torch.Tensor, cell_size: torch.Tensor) -> Optional[float]:
    """Floor-plan distance (m) between the attention-weighted centres of the :func:`attended_pair`; None without
    one."""
    pair = attended_pair(attention, xy, cell_size)
    if pair is None:
        return None
    return float(torch.linalg.norm(attended_centre(attention, xy, pair[0]) - attended_centre(attention, xy, pair[1])))


def named_objects_distance(question: AskedQuestion, attention: torch.Tensor, footprints: torch.Tensor,
                           xy: torch.Tensor, cell_size: torch.Tensor) -> Optional[float]:
    """Floor-plan distance (m) between the centres (:func:`object_centre`) of the two classes' objects a question
    names (:func:`attended_class_object`: "how far is the sofa from the lamp?"), or from the asker's pose to the one
    it names ("how far is the sofa from me?"); None unless it names two classes the map shows, or one and is asked at
    a pose (a door or a window is no class: :func:`measured_answer` says it cannot place one)."""
    if len(question.named) == 1 and question.pose is not None:
        cls = question.named[0]
        cells = attended_class_object(cls, attention, footprints, xy, cell_size)
        if not cells:
            return None
        centre = object_centre(footprints[:, CLASSES.index(cls)], xy, cells)
        return float(torch.linalg.norm(centre - torch.tensor(question.pose[:2], dtype=centre.dtype)))
    if len(question.named) != 2:
        return None
    centres = []
    for cls in question.named:
        cells = attended_class_object(cls, attention, footprints, xy, cell_size)
        if not cells:
            return None
        centres.append(object_centre(footprints[:, CLASSES.index(cls)], xy, cells))
    return float(torch.linalg.norm(centres[0] - centres[1]))


def named_next_to(question: AskedQuestion, footprints: torch.Tensor, xy: torch.Tensor, cell_size: torch.Tensor
                  ) -> Optional[bool]:
    """Whether some object of one class a question names ("is the stool next to the chair?") has columns within
    ``NEXT_TO_M`` of some object of the other (:func:`class_objects` at ``NAMED_OBJECT_MIN_P``; one sharing columns
    with it is on it, not beside it); None unless it names two classes the map shows."""
    if len(question.named) != 2:
        return None
    groups = [class_objects(footprints[:, CLASSES.index(c)], xy, cell_size, NAMED_OBJECT_MIN_P) for c in question.named]
    if not all(groups):
        return None
    return any(float(torch.cdist(xy[a].double(), xy[b].double()).min()) <= NEXT_TO_M + 1e-6
               for a in groups[0] for b in groups[1] if not set(a) & set(b))


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
    """How many objects of a class the map holds (:func:`class_objects` at ``COUNT_MIN_P``)."""
    return len(class_objects(footprint, xy, cell_size))


def _compares(words: str, comparative: re.Pattern) -> bool:
    """Whether a question asks a comparison (``comparative``: "which is bigger, …", "is it bigger than …"), not
    refers to an object by one ("what is between the bigger plant and the cupboard?": a class follows the word)."""
    for match in comparative.finditer(words):
        following = words[match.end():].split()[:2]
        if not (following and following[0].isalpha() and following[0] not in _ARTICLES
                and classes_named(" ".join(following))):
            return True
    return False


def measured_size(question: AskedQuestion, attention: torch.Tensor, footprints: torch.Tensor, xy: torch.Tensor,
                  cell_size: torch.Tensor) -> Optional[Measurement]:
    """The answer to a size comparison of the two classes a question names ("which is bigger, the bin or the
    cushion?" → one of the two, grounded on its object; "is the bin bigger than the cushion?" → yes / no): each
    class's :func:`attended_class_object` has the class's typical volume where it stands (:func:`stands_on_support`),
    the placement-free one where the map shows none. None for another question (no comparative of size, or not two
    classes named)."""
    words = question.text.lower()
    bigger, smaller = _compares(words, BIGGER), _compares(words, SMALLER)
    if len(question.named) != 2 or bigger == smaller:
        return None
    objects = [attended_class_object(c, attention, footprints, xy, cell_size) for c in question.named]
    first, second = (typical_volume(c, stands_on_support(footprints, cells, c) if cells else None)
                     for c, cells in zip(question.named, objects))
    if first == second:
        return None
    first_wins = (first > second) == bigger
    if THAN.search(words):
        return Measurement(YES if first_wins else NO)
    return Measurement(question.named[0], objects[0]) if first_wins else Measurement(question.named[1], objects[1])


def sectors_named(question: str) -> list[str]:
    """The directions (``sim.spatial.SECTORS``) a question names ("what is on my front left?": front, left)."""
    words = question.lower()
    return [name for name, pattern in _SECTOR_WORDS.items() if pattern.search(words)]


def asked_sector(question: str) -> Optional[str]:
    """The one direction a question asks about ("what is on my left?"); None for none or several."""
    found = sectors_named(question)
    return found[0] if len(found) == 1 else None


def measured_situated_object(footprints: torch.Tensor, xy: torch.Tensor, cell_size: torch.Tensor,
                             pose: tuple[float, float, float], question: str) -> Optional[Measurement]:
    """The nearest floor-standing object (:func:`floor_objects`) in the direction a question asks about ("what is
    the first thing on my left?"), or in any ("what is closest to me?", :func:`distance_around`), for an asker at
    ``pose`` (map x, y, yaw): its class, grounded on its columns; centres up to ``SITUATED_RANGE_M`` away
    (:func:`distance_in_direction`). None without one."""
    directions = sectors_named(question)
    sector = directions[0] if len(directions) == 1 else None
    if sector is None and (directions or not _NEAREST.search(question.lower()) or classes_named(question)):
        return None  # "closest to the bed?", "nearest on my front left?": not the asker's nearest all round
    found = [(distance, cls, cells) for cls, cells, centre in floor_objects(footprints, xy, cell_size)
             if (distance := distance_in_direction(centre, pose, sector) if sector is not None
                 else distance_around(centre, pose)) is not None and distance <= SITUATED_RANGE_M]
    if not found:
        return None
    _, cls, cells = min(found, key=lambda f: f[0])
    return Measurement(cls, most_probable_first(footprints, cls, cells))


def measured_situated_count(footprint: torch.Tensor, xy: torch.Tensor, cell_size: torch.Tensor,
                            pose: tuple[float, float, float], question: str) -> Optional[int]:
    """How many objects of a class (``footprint`` [N], :func:`class_objects`) lie in the direction a question asks
    about ("how many chairs are on my left?") for an asker at ``pose``: centres within 45° of it, at least
    ``SITUATED_MIN_M`` away (:func:`distance_in_direction`); None when it asks about no one direction."""
    sector = asked_sector(question)
    if sector is None:
        return None
    return sum(distance_in_direction(object_centre(footprint, xy, cells), pose, sector) is not None
               for cells in class_objects(footprint, xy, cell_size))


def measured_extreme(question: AskedQuestion, attention: torch.Tensor, footprints: torch.Tensor, xy: torch.Tensor,
                     cell_size: torch.Tensor) -> Optional[Measurement]:
    """The class of the object nearest to (or farthest from) the one class a question names ("what is closest to
    the stool?"), grounded on it: centre distances (:func:`object_centre`) from the named class's
    :func:`attended_class_object` to every other class's objects (:func:`class_objects` at ``CANDIDATE_MIN_P``), less
    those sharing columns with it (a pillow on the bed it asks about). None for another question (not one class
    named, neither or both of nearest and farthest in its words) or where the map shows no such objects."""
    words = question.text.lower()
    nearest, farthest = bool(_NEAREST.search(words)), bool(_FARTHEST.search(words))
    if len(question.named) != 1 or nearest == farthest:
        return None
    asked = question.named[0]
    target = attended_class_object(asked, attention, footprints, xy, cell_size)
    if not target:
        return None
    centre = object_centre(footprints[:, CLASSES.index(asked)], xy, target)
    candidates = [(float(torch.linalg.norm(object_centre(footprints[:, CLASSES.index(cls)], xy, cells) - centre)),
                   cls, cells)
                  for cls, cells in other_objects(footprints, xy, cell_size, CANDIDATE_MIN_P, asked, target)]
    if not candidates:
        return None
    _, cls, cells = (min if nearest else max)(candidates, key=lambda c: c[0])
    return Measurement(cls, most_probable_first(footprints, cls, cells))


def relation_asked(question: str) -> Optional[str]:
    """Which object a spatial-relation question asks for: "between" (what is between X and Y?), "support" (what is X
    standing on? what is under X?) or "next_to" (what is next to X?); None for another question. A swapped pair of
    letters is forgiven ("udner", "neigbhour")."""
    words = question.lower()
    if mentions(words, *_RELATION_WORDS["between"]):
        return "between"
    if mentions(words, *_RELATION_WORDS["support"]) or _ENDS_ON.search(words):
        return "support"
    if mentions(words, *_RELATION_WORDS["next_to"]) and not (_NEAREST.search(words) or _FARTHEST.search(words)):
        return "next_to"
    return None


def measured_relation_object(question: AskedQuestion, attention: torch.Tensor, footprints: torch.Tensor,
                             xy: torch.Tensor, cell_size: torch.Tensor, said: str = "") -> Optional[Measurement]:
    """The class a spatial-relation question asks for (:func:`relation_asked`), grounded on its object, from the
    named classes' objects (:func:`attended_class_object`): what X stands on — its :func:`support_of`, a support
    beside it only where the model ``said`` one X never stands on (a bed for a TV: on 80 validation rooms the one
    support beside a pillow it would have given was wrong where the model said the bed); what is next
    to X — the object (footprint above ``CANDIDATE_MIN_P``, not sharing X's columns) with the column nearest to X's;
    what is between X and Y — the floor-standing object whose centre lies between theirs (``BETWEEN_OFFSET_M``),
    nearest the line; no class the presence head doubts (:func:`without_doubted`). None where the map shows no such
    object or the question names other than one class (two for "between")."""
    kind = relation_asked(question.text)
    if kind is None or len(question.named) != (2 if kind == "between" else 1):
        return None
    objects = [attended_class_object(c, attention, footprints, xy, cell_size) for c in question.named]
    if not all(objects):
        return None
    if kind == "support":
        asked = question.named[0]
        support = support_of(footprints, xy, cell_size, asked, objects[0], doubted_classes(question),
                             beside=said not in CLASS_SPECS[asked].supports)
        return None if support is None else Measurement(*support)
    footprints = without_doubted(footprints, question)
    if kind == "next_to":
        neighbour = nearest_neighbour(footprints, xy, cell_size, question.named[0], objects[0])
        return None if neighbour is None else Measurement(*neighbour[1:])
    ends = [object_centre(footprints[:, CLASSES.index(c)], xy, o) for c, o in zip(question.named, objects)]
    candidates = [(offset, cls, cells) for cls, cells, centre in floor_objects(footprints, xy, cell_size)
                  if cls not in question.named and (offset := offset_between(ends[0], centre, ends[1])) is not None]
    if not candidates:
        return None
    _, cls, cells = min(candidates, key=lambda c: c[0])
    return Measurement(cls, cells)


def support_of(footprints: torch.Tensor, xy: torch.Tensor, cell_size: torch.Tensor, asked: str,
               cells: list[int], doubted: Collection[str] = (), beside: bool = True
               ) -> Optional[tuple[str, list[int]]]:
    """What the ``asked`` class's object (``cells``) stands on, with that support's columns: the support class not
    ``doubted`` (the presence head's look-alikes) whose footprint averages highest over its columns (above
    ``SUPPORT_SHARE_MIN``). A class that never stands on the floor (a TV, a monitor, a pillow) stands on something
    even where its columns hide the support or the presence head doubts it: then (with ``beside``) on the support its
    class stands on (``CLASS_SPECS[asked].supports``, doubted or not) whose object lies under or beside it
    (:func:`support_beside`). None when it stands on none."""
    trusted = tuple(c for c in SUPPORT_CLASSES if c != asked and c not in doubted)
    share, cls = likeliest_class(footprints, cells, trusted) if trusted else (0.0, "")
    if share > SUPPORT_SHARE_MIN:
        return cls, object_sharing(footprints, xy, cell_size, cls, cells)
    if beside and CLASS_SPECS[asked].size is None:
        return support_beside(footprints, xy, cell_size, asked, cells)
    return None


def support_beside(footprints: torch.Tensor, xy: torch.Tensor, cell_size: torch.Tensor, asked: str,
                   cells: list[int]) -> Optional[tuple[str, list[int]]]:
    """Of the objects of the classes the ``asked`` class stands on (``CLASS_SPECS``; ``NAMED_OBJECT_MIN_P``), the one
    nearest its columns (their footprint there breaking ties), within ``SUPPORT_BESIDE_M``: the desk whose top the
    TV's columns hide. None where none is that close."""
    found = []
    for cls in CLASS_SPECS[asked].supports:
        for other in class_objects(footprints[:, CLASSES.index(cls)], xy, cell_size, NAMED_OBJECT_MIN_P):
            gap = float(torch.cdist(xy[other].double(), xy[cells].double()).min())
            if gap <= SUPPORT_BESIDE_M + 1e-6:
                found.append((gap, -float(footprints[cells, CLASSES.index(cls)].mean()), cls, other))
    return min(found, key=lambda f: f[:2])[2:] if found else None


def nearest_neighbour(footprints: torch.Tensor, xy: torch.Tensor, cell_size: torch.Tensor, asked: str,
                      cells: list[int], floor_only: bool = False, leave_out: Collection[str] = ()
                      ) -> Optional[tuple[float, str, list[int]]]:
    """The object next to the ``asked`` class's object (``cells``): of the other classes' objects (not of
    ``leave_out``; footprint above ``CANDIDATE_MIN_P``, not sharing its columns; with ``floor_only`` those standing on
    the floor, :func:`stands_on_floor`, sharing less than ``SAME_OBJECT_SHARE`` of its or their columns), the one with
    the column nearest to its columns, as (that column distance in m, class, columns); None when the map shows no
    other object."""
    if floor_only:  # a chair tucked under the desk shares a column or two; the desk read as a table shares most
        others = [(cls, other) for cls, other in other_objects(footprints, xy, cell_size, CANDIDATE_MIN_P, asked)
                  if stands_on_floor(footprints, other, cls)
                  and len(set(other) & set(cells)) < SAME_OBJECT_SHARE * min(len(other), len(cells))]
    else:
        others = other_objects(footprints, xy, cell_size, CANDIDATE_MIN_P, asked, cells)
    candidates = [(float(torch.cdist(xy[other].double(), xy[cells].double()).min()), cls, other)
                  for cls, other in others if cls not in leave_out]
    return min(candidates, key=lambda c: c[0]) if candidates else None


def measured_class(question: AskedQuestion, attention: torch.Tensor, footprints: torch.Tensor, xy: torch.Tensor,
                   cell_size: torch.Tensor) -> Optional[Measurement]:
    """The class a class question asks for, grounded on its object: "what is on the desk?" — of the classes that
    stand on others (``ON_CLASSES``), the one whose footprint averages highest over the named class's object
    (:func:`attended_class_object`); "what is the biggest / smallest thing here?" (no class named) — the map's object
    (:func:`class_objects`; biggest among those above ``CANDIDATE_MIN_P``, smallest among those above
    ``NAMED_OBJECT_MIN_P``: small objects show faintly) with the largest / smallest typical volume where it stands
    (:func:`typical_volume`). On validation rooms (the model): on 65.1 → 81.4 % (and "what is the red thing on the
    desk?" 66.1 → 72.7 %), biggest 66.5 → 82.9 %, smallest 53.4 → 58.2 %. None for another question."""
    words = question.text.lower()
    biggest, smallest = bool(_BIGGEST.search(words)), bool(_SMALLEST.search(words))
    if not question.named and biggest != smallest:
        min_p = CANDIDATE_MIN_P if biggest else NAMED_OBJECT_MIN_P
        objects = [(typical_volume(cls, stands_on_support(footprints, cells, cls)), cls, cells)
                   for cls, cells in other_objects(footprints, xy, cell_size, min_p)]
        if not objects:
            return None
        _, cls, cells = (max if biggest else min)(objects, key=lambda o: o[0])
        return Measurement(cls, cells)
    if len(question.named) != 1 or not _ON.search(words) or relation_asked(question.text) is not None:
        return None
    base = attended_class_object(question.named[0], attention, footprints, xy, cell_size)
    if not base:
        return None
    share, cls = likeliest_class(footprints, base, tuple(c for c in ON_CLASSES if c != question.named[0]))
    if share <= 0.0:
        return None
    return Measurement(cls, object_sharing(footprints, xy, cell_size, cls, base))


def _same_word(word: str, target: str) -> bool:
    """``word`` is ``target``, or it with two neighbouring letters swapped (the commonest typo: "recah", "guied")."""
    if word == target:
        return True
    if len(word) != len(target) or len(word) < 4:
        return False
    diff = [i for i, (a, b) in enumerate(zip(word, target)) if a != b]
    return len(diff) == 2 and diff[1] == diff[0] + 1 and word[diff[0]] == target[diff[1]] \
        and word[diff[1]] == target[diff[0]]


def mentions(text: str, singles: tuple[str, ...], pairs: tuple[tuple[str, str], ...]) -> bool:
    """Whether a text holds one of the words or adjacent word pairs (:func:`_same_word`: a swapped pair of letters
    forgiven)."""
    words = re.findall(r"[a-z]+", text.lower())
    return any(_same_word(w, t) for w in words for t in singles) or any(
        _same_word(a, first) and _same_word(b, second) for a, b in zip(words, words[1:]) for first, second in pairs)


def asks_route(question: str) -> bool:
    """Whether a question asks the way to something ("how do I get to the sofa?", "guide me to the bed", "how can
    I reach the desk from here?"), a swapped pair of letters forgiven."""
    return mentions(question, *_ROUTE_WORDS)


def first_step(angle_deg: float) -> str:
    """A route's first step towards a bearing (degrees, + = left): ``ROUTE_STRAIGHT_DEG`` either side."""
    if abs(angle_deg) <= ROUTE_STRAIGHT_DEG:
        return "go straight"
    if abs(angle_deg) >= 180.0 - ROUTE_STRAIGHT_DEG:
        return "turn around"
    return "turn left" if angle_deg > 0.0 else "turn right"


def measured_route(question: AskedQuestion, attention: torch.Tensor, footprints: torch.Tensor, xy: torch.Tensor,
                   cell_size: torch.Tensor) -> Optional[Measurement]:
    """The answer to "how do I get to the sofa?" asked at a pose ("turn left and walk 2.5 meters", as the training
    data words it), grounded on the object: the class's :func:`attended_class_object`, the first step by its centre's
    bearing (:func:`first_step`), the walk to its nearest column (less ``ROUTE_EDGE_M``). None for another question
    (no pose, not one class named, no words of a route) or where the map shows no such object."""
    if question.pose is None or len(question.named) != 1 or not asks_route(question.text):
        return None
    cls = question.named[0]
    cells = attended_class_object(cls, attention, footprints, xy, cell_size)
    if not cells:
        return None
    position = torch.tensor(question.pose[:2], dtype=torch.float64)
    angle = math.degrees(bearing(question.pose[:2], question.pose[2],
                                 object_centre(footprints[:, CLASSES.index(cls)], xy, cells).numpy()))
    walk = max(float(torch.linalg.norm(xy[cells].double() - position, dim=1).min()) - ROUTE_EDGE_M, 0.0)
    return Measurement(f"{first_step(angle)} and walk {distance_text(walk)}", cells)


def distance_text(distance: float) -> str:
    """The answer for a measured distance, as the training data words it: the nearest 0.5 m, at least 0.5."""
    return metres(max(0.5, round(distance * 2.0) / 2.0))


def measured_answer(text: str, attention: torch.Tensor, scene: Any, question: AskedQuestion) -> Measurement:
    """``text`` with what the map measures in its place: a distance answer by the distance, an answer to a size
    comparison of two named classes by their sizes, a yes/no answer to a spatial-relation question by the next-to
    judgement, a direction answer to a question asked at a pose by the direction from it, the class of "the first
    thing on my left" asked at a pose by the nearest object there, the class nearest to or farthest from a named
    class's object by the map's, "how do I get to the sofa?" asked at a pose by the
    route to it (whatever the model said), a count above zero to a room-wide "how many <class>?" and any count in a
    direction by the count (at most one above the model's). ``scene`` carries the map geometry (``xy``, ``cell_size``,
    ``footprints``: a ``ScenePrefix``). Any other answer, the absent gate's (``question.absent``; a count or colour
    question about several classes then answers each), or one the map cannot measure (too few attended objects, no
    geometry), as it is."""
    xy, cell_size = getattr(scene, "xy", None), getattr(scene, "cell_size", None)
    if xy is None or cell_size is None:
        return Measurement(text)
    footprints = getattr(scene, "footprints", None)
    xy, cell_size, footprints = xy.cpu(), cell_size.cpu(), None if footprints is None else footprints.float().cpu()
    colour_probs = getattr(scene, "colour_probs", None)
    if question.absent:  # the gate's answer: no object of the class to measure, unless the question asks about
        # several classes, each answered on its own ("two lamps and no sofas")
        from leovl_ros.model.room_questions import measured_on_support, measured_several  # they build on this

        several = None if footprints is None else (
            measured_several(question, attention, footprints, colour_probs, xy, cell_size)
            or measured_on_support(question, footprints, colour_probs, xy, cell_size, choice_only=True))
        return several or Measurement(text)
    if footprints is not None:  # questions read by their words: open answers, whatever the types say
        from leovl_ros.model.room_questions import answer_by_words  # it builds on this module

        by_words = answer_by_words(text, question, attention, footprints, colour_probs,
                                   getattr(scene, "last_seen", None), xy, cell_size, getattr(scene, "first_seen", None))
        if by_words is not None:
            return by_words
    if judges_opening(text, question) and (opening := opening_named(question.text)) is not None:
        return Measurement(OPENING_UNKNOWN.format(opening=opening))  # how far, whether next to, what is nearest
    if text in COLOURS and COLOUR_TYPE in question.answer_types and footprints is not None \
            and colour_probs is not None:
        from leovl_ros.model.room_questions import measured_colour  # it builds on this module

        coloured = measured_colour(question, attention, footprints, colour_probs.float().cpu(), xy, cell_size, text)
        if coloured is not None:
            return coloured
    measured = _measurement(text, attention, xy, cell_size, footprints, question)
    if measured is None or (question.answers is not None and measured.text not in question.answers):
        return Measurement(text)
    return measured


def judges_opening(text: str, question: AskedQuestion) -> bool:
    """Whether ``text`` is an answer that would place a door or window the question names: a distance, a next-to
    or existence yes/no ("is there a window?", "is there a chair by the door?"), a room count ("how many windows?"),
    the class nearest to or farthest from it, or left / right of something as seen from it (asked without a pose).
    The map cannot place one; the model's guesses were right 4 / 27 / 43 % of the time for nearest / farthest /
    left-right (held-out generated questions naming one, 2026-12-08), at or below chance."""
    types = question.answer_types
    return bool(DISTANCE_ANSWER.match(text)) \
        or (text in (YES, NO) and (RELATION_TYPE in types or EXISTENCE_TYPE in types)) \
        or (text in NUMBER_WORDS and COUNTING_TYPE in types and not question.situated) \
        or (text in CLASSES and any(t in types for t in NEAREST_TYPES)) \
        or (text in ("left", "right") and question.pose is None and not question.situated)


def doubted_classes(question: AskedQuestion) -> frozenset[str]:
    """The classes the model's presence probability puts below ``PRESENCE_MIN`` (none without class presence)."""
    return frozenset(cls for cls, p in question.presence.items() if p < PRESENCE_MIN)


def without_doubted(footprints: torch.Tensor, question: AskedQuestion) -> torch.Tensor:
    """``footprints`` with the columns of every :func:`doubted_classes` class at zero, but for the classes the
    question names: an answer naming another object names none the room-level presence head rules out."""
    doubted = [CLASSES.index(c) for c in doubted_classes(question) if c not in question.named]
    if not doubted:
        return footprints
    kept = footprints.clone()
    kept[:, doubted] = 0.0
    return kept


def _measurement(text: str, attention: torch.Tensor, xy: torch.Tensor, cell_size: torch.Tensor,
                 footprints: Optional[torch.Tensor], question: AskedQuestion) -> Optional[Measurement]:
    """What the map measures for an answer (:func:`measured_answer`), or None where it measures nothing. The
    objects an answer may name are those of the classes the presence head does not doubt (:func:`without_doubted`)."""
    others = None if footprints is None else without_doubted(footprints, question)
    if DISTANCE_ANSWER.match(text):
        distance = None if footprints is None else named_objects_distance(question, attention, footprints, xy,
                                                                          cell_size)
        if distance is None:
            distance = measured_distance(attention, xy, cell_size)
        return None if distance is None else Measurement(distance_text(distance))
    if (text in (YES, NO) or text in CLASSES) and SIZE_TYPE in question.answer_types and not question.situated \
            and footprints is not None:
        size = measured_size(question, attention, footprints, xy, cell_size)
        if size is not None:
            return size
    if text in CLASSES and any(t in question.answer_types for t in NEAREST_TYPES) and footprints is not None:
        extreme = measured_extreme(question, attention, others, xy, cell_size)
        if extreme is not None:
            return extreme
    if text in CLASSES and CLASS_TYPE in question.answer_types and footprints is not None:
        found = measured_class(question, attention, others, xy, cell_size)
        if found is not None:
            return found
    if text in CLASSES and RELATION_TYPE in question.answer_types and footprints is not None:
        related = measured_relation_object(question, attention, footprints, xy, cell_size, text)
        if related is not None:
            return related
    if text in (YES, NO) and RELATION_TYPE in question.answer_types:
        near = None if footprints is None else named_next_to(question, footprints, xy, cell_size)
        if near is None:
            near = measured_next_to(attention, xy, cell_size)
        return None if near is None else Measurement(YES if near else NO)
    if text in SECTORS and question.pose is not None:
        direction = measured_direction(attention, xy, cell_size, question.pose, question.text)
        return None if direction is None else Measurement(direction)
    if text in CLASSES and SITUATED_OBJECT_TYPE in question.answer_types and question.pose is not None \
            and footprints is not None:
        return measured_situated_object(others, xy, cell_size, question.pose, question.text)
    if text in NUMBER_WORDS and len(question.named) == 1 and footprints is not None:
        footprint = footprints[:, CLASSES.index(question.named[0])]
        if SITUATED_COUNTING_TYPE in question.answer_types and question.pose is not None:
            count = measured_situated_count(footprint, xy, cell_size, question.pose, question.text)
        elif COUNTING_TYPE in question.answer_types and not question.situated and text != NUMBER_WORDS[0]:
            count = measured_count(footprint, xy, cell_size) or None  # "zero" stays the model's and the gate's
        else:
            count = None
        return None if count is None else Measurement(count_word(min(count, NUMBER_WORDS.index(text) + 1)))
    return None
