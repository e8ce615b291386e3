"""Questions answered from the store's voxels in a named object's columns, which the language model never sees.

"How tall is the lamp?" (:func:`measured_height`: the vertical extent of the voxels of the lamp's class), "which is
taller, the lamp or the chair?" (:func:`measured_taller`), "what is the tallest thing here?"
(:func:`measured_tallest`), "which lamp is bigger?" (:func:`measured_which_size`: of one class's objects) and
"when did you first see the lamp?" (:func:`object_first_seen`: their earliest first-seen time).
``agent.answering.Answerer`` holds the store and asks these before the model runs; :func:`asks_about_one_object`
tells which questions a follow-up pronoun ("where is it?") may be read into (``agent.referents``). ROS-free.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Optional

import torch

from leovl_ros.model.map_objects import ON_CLASSES, class_objects, most_probable_first
from leovl_ros.model.measure import AskedQuestion, Measurement, asks_route, doubted_classes, relation_asked
from leovl_ros.model.room_questions import (
    COLOUR_WORD,
    LOCATION_FAINT_MIN_P,
    asked_object,
    asks_colour_check,
    asks_location,
    asks_object_caption,
    asks_size,
    asks_what_is_on,
    not_seen,
    object_place,
    object_sides,
    only_one,
    room_inventory,
)
from leovl_ros.sim.scene import CLASSES
from leovl_ros.sim.templates import classes_named, plural

_HEIGHT = re.compile(r"\b(?:how (?:tall|high|low|short)|(?:what|which) height|height of)\b")
"""A question about an object's height ("how tall is the lamp?", "what height is the desk?", with a class named:
:func:`asks_height`)."""

FLOOR_STANDING_M = 0.25
"""An object that can stand on others (``ON_CLASSES``) whose lowest voxel of its class starts this close to the floor
(z = 0) stands on it: its height is measured from the floor (an object's lowest voxels are the ones the camera saw
least)."""

HEIGHT_VOXEL_SHARE = 0.2
"""A voxel of the object's columns is the object's when its probability of the class is at least this share of the
most likely one's (as for the object's last-seen time, ``agent.answering.VOXEL_MIN_SHARE``)."""

HEIGHT_TOP_QUANTILE = 0.95
"""An object's top is this quantile of its voxels' heights (40 validation rooms, 202 objects: within 0.1 m 82 % of
heights against 77 % at the highest voxel; ``benchmarks/sizes.py``)."""

VoxelHeights = Callable[[list[int], int], tuple[torch.Tensor, torch.Tensor]]
"""(CFG cells, class index) → the probability of that class [V] and the centre height [V] (m) of the map's voxels
standing in those cells (``agent.answering.Answerer`` reads them from the store)."""


def asks_height(question: AskedQuestion) -> bool:
    """Whether a question asks how tall an object it names is ("how tall is the lamp?", "how high is the tv?",
    "what is the height of the desk?")."""
    return bool(question.named) and bool(_HEIGHT.search(question.text.lower()))


def named_object(question: AskedQuestion, footprints: torch.Tensor, xy: torch.Tensor, cell_size: torch.Tensor
                  ) -> list[int]:
    """The object a question answered before the model asks about ("how tall is the lamp?", "when did you first see
    the lamp?"), most probable column first: of the first named class's objects (:func:`class_objects`, else faint
    ones above ``LOCATION_FAINT_MIN_P``, as "where is …?" finds them) the one nearest the second named class's
    object ("how tall is the lamp on the desk?"), else the largest; empty when the map shows none."""
    asked = question.named[0]
    index = CLASSES.index(asked)
    objects = (class_objects(footprints[:, index], xy, cell_size)
               or class_objects(footprints[:, index], xy, cell_size, LOCATION_FAINT_MIN_P))
    if not objects:
        return []
    landmark = asked_object(question.named[1], torch.ones(len(xy)), footprints, xy, cell_size) \
        if len(question.named) > 1 else []
    if landmark and len(objects) > 1:
        chosen = min(objects, key=lambda o: float(torch.cdist(xy[o].double(), xy[landmark].double()).min()))
    else:
        chosen = max(objects, key=len)
    return most_probable_first(footprints, asked, chosen)


_SEEING = r"\b(?:see|saw|seen|spot|spotted|notice|noticed)\b"
_FIRST_SEEN = re.compile(rf"\bwhen\b.*\b(?:first|earliest)\b.*{_SEEING}|\bwhen\b.*{_SEEING}.*\bfirst\b")
"""When an object was first seen ("when did you first see the bed?", "when did you see the lamp for the first
time?")."""


def asks_first_seen(question: AskedQuestion) -> bool:
    """Whether a question asks when the robot first saw an object it names."""
    return bool(question.named) and bool(_FIRST_SEEN.search(question.text.lower()))


def object_first_seen(class_prob: torch.Tensor, first_seen: torch.Tensor) -> Optional[float]:
    """When an object was first seen: the earliest known first-seen time among the voxels of its columns whose
    probability of its class is at least ``HEIGHT_VOXEL_SHARE`` of the likeliest one's (the object's own voxels, as
    for its height and its last-seen time); None without such a voxel with a time."""
    if class_prob.numel() == 0 or float(class_prob.max()) <= 0.0:
        return None
    times = first_seen[class_prob >= HEIGHT_VOXEL_SHARE * class_prob.max()].double()
    times = times[~torch.isnan(times)]
    return float(times.min()) if times.numel() else None


def vertical_extent(cls: str, class_prob: torch.Tensor, z: torch.Tensor, voxel_size: float
                    ) -> Optional[tuple[float, float]]:
    """(bottom, top) heights (m) of an object of class ``cls`` from the voxels of its columns: those at
    ``HEIGHT_VOXEL_SHARE`` of the most likely one's probability of the class and above, the top at their
    ``HEIGHT_TOP_QUANTILE`` (a stray voxel of the wall behind is no top), the bottom at the lowest; on the floor for
    a class that never stands on another (``ON_CLASSES``) or within ``FLOOR_STANDING_M``. None without voxels."""
    if class_prob.numel() == 0 or float(class_prob.max()) <= 0.0:
        return None
    kept = z[class_prob >= HEIGHT_VOXEL_SHARE * class_prob.max()].double()
    bottom = float(kept.min()) - voxel_size / 2
    top = float(torch.quantile(kept, HEIGHT_TOP_QUANTILE)) + voxel_size / 2
    return (0.0 if cls not in ON_CLASSES or bottom <= FLOOR_STANDING_M else bottom), top


def measured_height(question: AskedQuestion, footprints: torch.Tensor, xy: torch.Tensor, cell_size: torch.Tensor,
                    voxels: VoxelHeights, voxel_size: float) -> Optional[Measurement]:
    """The answer to "how tall is the lamp?": "the lamp is about 0.5 meters tall" (and, for one standing on
    something, "its top 1.3 meters above the floor"), from the :func:`vertical_extent` of the voxels of the
    :func:`named_object`'s columns, grounded on it. None for another question; :func:`not_seen` where the map shows
    no such object (a class the absent gate judges absent is answered before, ``Answerer``)."""
    if not asks_height(question):
        return None
    asked = question.named[0]
    cells = named_object(question, footprints, xy, cell_size)
    if not cells:
        return not_seen(asked)
    extent = vertical_extent(asked, *voxels(cells, CLASSES.index(asked)), voxel_size)
    if extent is None:  # a model without label anchors reads no voxel's class
        return Measurement(f"I cannot tell how tall the {asked} is", cells)
    bottom, top = extent
    text = f"the {asked} is about {top - bottom:.1f} meters tall"
    if bottom > 0.0:
        text += f", its top {top:.1f} meters above the floor"
    return Measurement(text, cells)


_TALLER = re.compile(r"\b(?P<word>taller|shorter|higher|lower)\b")
"""A height comparison of two named objects ("which is taller, the lamp or the chair?", "is the tv higher than the
desk?")."""


def asks_taller(question: AskedQuestion) -> bool:
    """Whether a question compares the heights of the objects of two classes it names."""
    return len(question.named) == 2 and bool(_TALLER.search(question.text.lower()))


def measured_taller(question: AskedQuestion, footprints: torch.Tensor, xy: torch.Tensor, cell_size: torch.Tensor,
                    voxels: VoxelHeights, voxel_size: float) -> Optional[Measurement]:
    """The answer to "which is taller, the lamp or the chair?" (the class, grounded on its object) or "is the lamp
    taller than the chair?" (yes / no): the two :func:`named_object` s' :func:`vertical_extent` — taller / shorter
    compare their heights, higher / lower their tops above the floor. None for another question or where the voxels
    tell no height; :func:`not_seen` for a class the map shows nowhere."""
    if not asks_taller(question):
        return None
    word = _TALLER.search(question.text.lower())["word"]
    measures, objects = [], []
    for cls in question.named:
        cells = named_object(AskedQuestion(cls), footprints, xy, cell_size)
        if not cells:
            return not_seen(cls)
        extent = vertical_extent(cls, *voxels(cells, CLASSES.index(cls)), voxel_size)
        if extent is None:
            return None
        measures.append(extent[1] - extent[0] if word in ("taller", "shorter") else extent[1])
        objects.append(cells)
    if measures[0] == measures[1]:
        return None
    first_wins = (measures[0] > measures[1]) == (word in ("taller", "higher"))
    if re.search(r"\bthan\b", question.text.lower()):
        return Measurement("yes" if first_wins else "no", objects[0])
    winner = 0 if first_wins else 1
    return Measurement(question.named[winner], objects[winner])


_TALLEST = re.compile(r"\b(?P<word>tallest|highest|shortest|lowest)\b")
"""The tallest or the shortest thing in the room ("what is the tallest thing here?", "which object reaches the
highest?", no class named: :func:`asks_tallest`)."""


def asks_tallest(question: AskedQuestion) -> bool:
    """Whether a question asks for the room's tallest (or shortest) thing: no class named, no situation."""
    return not question.named and not question.situated and bool(_TALLEST.search(question.text.lower()))


def measured_tallest(question: AskedQuestion, footprints: torch.Tensor, xy: torch.Tensor, cell_size: torch.Tensor,
                     voxels: VoxelHeights, voxel_size: float) -> Optional[Measurement]:
    """The answer to "what is the tallest thing in the room?" / "… the shortest …": of the room inventory's objects
    (``room_questions.room_inventory``), the class of the one whose :func:`vertical_extent` is the largest (the
    smallest), grounded on it — an object's own height, as the training questions mean "tallest" and "highest". None
    for another question or where the voxels tell no height."""
    if not asks_tallest(question):
        return None
    tallest = _TALLEST.search(question.text.lower())["word"] in ("tallest", "highest")
    heights = []
    for cls, objects in room_inventory(question, footprints, xy, cell_size):
        for cells in objects:
            extent = vertical_extent(cls, *voxels(cells, CLASSES.index(cls)), voxel_size)
            if extent is not None:
                heights.append((extent[1] - extent[0], cls, cells))
    if not heights:
        return None
    _, cls, cells = (max if tallest else min)(heights, key=lambda h: h[0])
    return Measurement(cls, most_probable_first(footprints, cls, cells))


_SIZE_WORDS = ("bigger|biggest|larger|largest|smaller|smallest|tinier|tiniest|taller|tallest|shorter|shortest|higher"
               "|highest|lower|lowest")
_WHICH_SIZE = (re.compile(rf"^\W*which (?:one of the |of the )?(?P<cls>[a-z ]+?) (?:is|are|looks|stands) (?:the )?"
                          rf"(?P<word>{_SIZE_WORDS})\b(?!.*\bthan\b)"),
               re.compile(rf"^\W*(?:which|what)(?: is|'s) the (?P<word>{_SIZE_WORDS}) (?P<cls>[a-z ]+?)"
                          rf"(?: (?:here|in the room|in this room|you (?:have )?(?:saw|seen)))?\W*$"))
"""Which of one class's objects is the biggest (tallest, …): "which lamp is bigger?", "which of the chairs is the
tallest?", "what is the biggest lamp?"."""
SAME_SIZE_SHARE = 0.1
"""Objects whose measures differ by this share of the larger or less are about the same size: both are named."""


def which_size_asked(question: AskedQuestion) -> Optional[tuple[str, str]]:
    """(class, size word) of a question asking which of one named class's objects is the biggest (tallest, …): None
    for another question (a comparison of two classes, "bigger than", a situation)."""
    if question.situated or len(question.named) != 1:
        return None
    for pattern in _WHICH_SIZE:
        found = pattern.match(question.text.lower())
        if found is not None and classes_named(found["cls"]) == question.named:
            return question.named[0], found["word"]
    return None


def size_words(sides: tuple[float, float], extent: tuple[float, float], word: str) -> str:
    """What was compared, as said after the object: "about 1.4 meters tall", "its top 1.3 meters above the floor",
    "about 0.5 by 0.4 meters, 1.4 meters tall"."""
    bottom, top = extent
    if word.startswith(("tall", "short")):
        return f"about {top - bottom:.1f} meters tall"
    if word.startswith(("high", "low")):
        return f"its top {top:.1f} meters above the floor"
    return f"about {sides[0]:.1f} by {sides[1]:.1f} meters, {top - bottom:.1f} meters tall"


def measured_which_size(question: AskedQuestion, footprints: torch.Tensor, xy: torch.Tensor, cell_size: torch.Tensor,
                        voxels: VoxelHeights, voxel_size: float) -> Optional[Measurement]:
    """The answer to "which lamp is bigger?" (taller, higher, smaller, …): of the named class's objects (the room
    inventory's), the one whose footprint sides times :func:`vertical_extent` (its height for tall / short, its top
    for high / low) is the largest (smallest), said by where it stands and what was measured ("the lamp on the
    nightstand, about 0.6 meters tall") and grounded on it; both named where they are within ``SAME_SIZE_SHARE``;
    "I have seen one lamp: it is …" for a class the map shows once. None for another question or where the voxels
    tell no height."""
    asked = which_size_asked(question)
    if asked is None:
        return None
    cls, word = asked
    objects = dict(room_inventory(question, footprints, xy, cell_size)).get(cls)
    if not objects:
        return not_seen(cls)
    doubted = doubted_classes(question)
    if len(objects) == 1:
        return only_one(footprints, xy, cell_size, cls, objects[0], doubted)
    measured = []
    for cells in objects:
        extent = vertical_extent(cls, *voxels(cells, CLASSES.index(cls)), voxel_size)
        if extent is None:
            return None
        sides = object_sides(xy, cell_size, cells)
        size = (extent[1] - extent[0] if word.startswith(("tall", "short")) else extent[1]
                if word.startswith(("high", "low")) else sides[0] * sides[1] * (extent[1] - extent[0]))
        measured.append((size, sides, extent, cells))
    largest = word.startswith(("big", "larg", "tall", "high"))
    order = sorted(range(len(measured)), key=lambda i: measured[i][0], reverse=largest)
    best, runner_up = measured[order[0]], measured[order[1]]

    def said(m: tuple) -> str:
        """The object by where it stands and what was measured: "the lamp on the nightstand, about 1.4 meters tall"."""
        place = object_place(footprints, xy, cell_size, cls, m[3], doubted)
        return f"the {cls}{f' {place}' if place else ''}, {size_words(m[1], m[2], word)}"

    if abs(best[0] - runner_up[0]) <= SAME_SIZE_SHARE * max(best[0], runner_up[0]):
        text = (f"{'both' if len(objects) == 2 else 'two of the'} {plural(cls)} are about the same: {said(best)}, "
                f"and {said(runner_up)}")
    else:
        text = said(best)
    return Measurement(text, most_probable_first(footprints, cls, best[3]))


_LEFT_OR_RIGHT = re.compile(r"\b(?:left|right)\b.*\bor\b.*\b(?:left|right)\b")
_WHEN_SEEN = re.compile(r"\bwhen\b.*\b(?:see|saw|seen|spot|spotted|notice|noticed)\b")


def asks_about_one_object(text: str) -> bool:
    """Whether a question names one class and asks what a reader answers from that object alone: where it is, how
    tall or big it is, the way to it, its side, a description of it, when it was seen ("where is the lamp?", "take
    me to the lamp", "when did you last see the lamp?"), its colour, what it stands on or next to ("what colour is
    the lamp?", "what is the lamp standing on?": the map measures those on the named object): the questions whose
    follow-up "where is it?", "and its colour?", "is it red?", "is there anything on it?" needs the object named
    (``agent.referents``). The model, trained on
    such follow-ups with the pronoun, read its history badly: on 60 validation rooms' generated dialogues, 30.8 % of
    65 colour and 29.0 % of 31 relation follow-ups right."""
    question = AskedQuestion(text)
    if len(question.named) != 1:
        return False
    words = text.lower()
    return (asks_location(text) or asks_height(question) or asks_size(words) or asks_route(words)
            or bool(_LEFT_OR_RIGHT.search(words)) or asks_object_caption(question) or bool(_WHEN_SEEN.search(words))
            or bool(COLOUR_WORD.search(words)) or relation_asked(words) in ("support", "next_to")
            or asks_colour_check(text) or asks_what_is_on(text))
