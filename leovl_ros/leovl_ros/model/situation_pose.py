"""Where a situation text puts the asker, read on the map: "I am sitting on the bed facing the tv" → a pose.

SQA3D-style situations come as text ("I am standing by the red chair, looking towards the desk", "I'm seated on
the sofa and the lamp is on my left"); the model was trained with the text and its pose together, and the map's
measured answers (which side, the first thing on my left, how many behind me, the way to the door) need the pose.
:func:`place_situation` reads the text's roles — the object the asker sits on or stands by, the one faced, and
objects said to be on the asker's left / right / behind / in front — places each on the map (the room inventory's
objects of its class, told apart by a colour, a size word or a neighbour the text names) and returns the asker's
position (the centre of the object sat on, beside the one stood by) and heading (towards the faced object, or turned
from an object's stated side). A situation says where one is first and what one faces next, so words it does not
know between them are read in that order ("Picture me by the bed, eyes on the tv"). None where the text names no
anchor, or no direction the map can place ("facing the window": no window in the map) for a question that needs
one: the model then reads the text alone, as before. ROS-free.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Optional

import torch

from leovl_ros.model.map_objects import class_objects, floor_objects, object_centre
from leovl_ros.model.room_questions import colour_share
from leovl_ros.sim.scene import CLASSES
from leovl_ros.sim.templates import class_spans, colour_before

_REFERENCE = r"\s+(?:(?:the|a|an|my|one of the)\s+)?(?:[a-z]+\s+)?$"
"""The start of a reference up to its class word: an article and at most one adjective ("the red ", "a large ")."""
_SIT = re.compile(r"(?:\b(?:sitting|seated|sit|sits|sat|lying|laying|lie|lay|resting|perched)\b[^.,;]*?\b(?:on|in|at)"
                  r"|\b(?:i'm|i am|am)\s+(?:now\s+|right\s+|just\s+)?(?:on|upon))" + _REFERENCE)
_STAND = re.compile(r"(?:^\W*|\b(?:standing|stand|stands|am|i'm|is|waiting|staying|positioned|located|placed)\b"
                    r"[^.,;]*?)\b(?:right |just )?(?:by|next to|beside|near|at|in front of|close to|against|behind)"
                    + _REFERENCE)
_FACE = re.compile(r"\b(?:facing|face|faces|looking at|looking towards?|look at|look towards?|turned (?:towards?|to)"
                   r"|staring at|watching|towards?|in the direction of|oriented towards?|pointing at)" + _REFERENCE)
_MODIFIER = re.compile(r"^\s*(?:that is |which is |)(?P<rel>next to|by|beside|near|on top of|on|close to)"
                       r"\s+(?:the|a|an)?\s*$")
_SIDE_AFTER = re.compile(r"^\s*(?:is |are |stands |sits |)(?:straight |right |directly |just )?"
                         r"(?:(?:on|to|at) my (?P<side>left|right)|(?P<behind>behind me)"
                         r"|(?P<front>in front of me|ahead of me))")
_SIDE_BEFORE = re.compile(r"(?:(?:on|to|at) my (?P<side>left|right)(?: side| hand side)?|(?P<behind>behind me)"
                          r"|(?P<front>in front of me|ahead of me))\W*(?:there )?(?:is|are|stands|sits)?" + _REFERENCE)
_LARGER = re.compile(r"\b(?:largest|biggest|bigger|larger)\s+$")
_SMALLER = re.compile(r"\b(?:smallest|smaller|tiniest)\s+$")

OFFSETS_DEG = {"front": 0.0, "left": 90.0, "right": -90.0, "behind": 180.0}
"""Where an object lies relative to the asker's heading (counter-clockwise, as ``sim.spatial.bearing``)."""


@dataclass
class Mention:
    """A class the situation names, its role and what tells its object apart."""

    cls: str
    role: str
    """'sit' / 'stand' (the anchor), 'front' / 'left' / 'right' / 'behind' (a direction from the asker), or ''."""
    colour: Optional[str] = None
    size: int = 0
    """+1 for "the largest X", -1 for "the smallest X", 0 otherwise."""
    near: list[str] = field(default_factory=list)
    """Classes named right after it as its neighbour or support ("the chair next to the desk")."""


def situation_mentions(text: str) -> list[Mention]:
    """The classes a situation names, in order, each with its role (from the words before it, or a side after it)
    and its modifiers; a class named as another's neighbour ("next to the desk") is that one's modifier."""
    lower = text.lower()
    spans = class_spans(lower)
    mentions: list[Mention] = []
    previous_end = 0
    for index, (start, end, cls) in enumerate(spans):
        before = lower[previous_end:start]
        clause = re.split(r"[.,;]| and | while | with ", lower[:start])[-1]
        after = lower[end: spans[index + 1][0] if index + 1 < len(spans) else len(lower)]
        if mentions and _MODIFIER.match(before):
            mentions[-1].near.append(cls)
            previous_end = end
            continue
        role = ""
        if _SIT.search(clause):
            role = "sit"
        elif _FACE.search(clause):
            role = "front"
        elif (side := _SIDE_BEFORE.search(clause)) is not None:
            role = side["side"] or ("behind" if side["behind"] else "front")
        elif _STAND.search(clause):
            role = "stand"
        elif (side := _SIDE_AFTER.match(after)) is not None:
            role = side["side"] or ("behind" if side["behind"] else "front")
        size = 1 if _LARGER.search(lower[:start]) else -1 if _SMALLER.search(lower[:start]) else 0
        mentions.append(Mention(cls, role, colour_before(lower[max(0, start - 30):end], cls), size))
        previous_end = end
    return mentions


def placed_object(mention: Mention, objects: dict[str, list[list[int]]], footprints: torch.Tensor, xy: torch.Tensor,
                  colour_probs: Optional[torch.Tensor], taken: Optional[list[int]] = None) -> Optional[list[int]]:
    """The map object a mention names among ``objects`` (class → objects' columns) other than ``taken`` (the anchor's:
    "at the orange stool, facing the brown stool"): the one of the named colour, size, or nearest the named neighbour
    where the class has several; otherwise the largest. None where the map shows none of the class."""
    candidates = [c for c in objects.get(mention.cls, []) if c != taken]
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    if mention.colour is not None and colour_probs is not None:
        return max(candidates, key=lambda c: colour_share(colour_probs, footprints, mention.cls, c, mention.colour))
    neighbours = [cells for cls in mention.near for cells in objects.get(cls, [])]
    if neighbours:
        near = torch.cat([xy[cells].double() for cells in neighbours])
        return min(candidates, key=lambda c: float(torch.cdist(xy[c].double(), near).min()))
    if mention.size < 0:
        return min(candidates, key=len)
    return max(candidates, key=len)


FAINT_MIN_P = 0.2
"""A class the room inventory leaves out (its objects faint on the map, or doubted by the presence head) is looked for
at this footprint probability: the asker says the object is there ("I am sitting on the sofa"), as location answers
place faint objects (``room_questions.LOCATION_FAINT_MIN_P``)."""
STAND_OFF_M = 0.5
"""Someone standing by an object stands about this far beyond its footprint's half diagonal from its centre (as the
generated situations place them)."""
CLEARANCE_M = 0.25
"""A standing place keeps this far from the room's walls and from every floor-standing object."""
STAND_DIRECTIONS = 36
"""Directions around the object tried for a standing place."""


def standing_position(anchor: list[int], centre: torch.Tensor, footprints: torch.Tensor, xy: torch.Tensor,
                      cell_size: torch.Tensor) -> torch.Tensor:
    """Where someone standing by an object most likely is: the mean of the free places ``STAND_OFF_M`` beyond its
    half diagonal in ``STAND_DIRECTIONS`` directions (inside the map's extent, ``CLEARANCE_M`` clear of every
    floor-standing object's columns); its centre where none is free. Any free direction is as likely as another, so
    their mean is the least-squares guess (a bed against a wall: the room side)."""
    points = xy[anchor].double()
    half_diagonal = 0.5 * float(torch.linalg.norm(points.max(0).values - points.min(0).values
                                                  + cell_size[anchor].double().mean()))
    angles = torch.arange(STAND_DIRECTIONS, dtype=torch.float64) * (2 * math.pi / STAND_DIRECTIONS)
    places = centre + (half_diagonal + STAND_OFF_M) * torch.stack([angles.cos(), angles.sin()], 1)
    low, high = xy.double().min(0).values + CLEARANCE_M, xy.double().max(0).values - CLEARANCE_M
    free = ((places >= low) & (places <= high)).all(1)
    taken = [c for _, cells, _ in floor_objects(footprints, xy, cell_size) for c in cells]
    if taken:
        gaps = torch.cdist(places, xy[taken].double()) - 0.5 * cell_size[taken].double()
        free &= gaps.min(1).values > CLEARANCE_M
    return places[free].mean(0) if bool(free.any()) else centre


_HEADING_WORDS = re.compile(r"\b(?:fac\w*|look\w*|toward\w*|turned|watch\w*|stari?n?g?|gaz\w*|eyes|back|left|right"
                            r"|front|ahead|behind|north|south|east|west|o'clock)\b")
"""Words that tell which way one faces (any of them: the heading is then the parser's to read, or the model's)."""
_DIRECTION_ASKED = re.compile(r"\b(?:left|right|front|behind|ahead|back)\b")


def needs_heading(question: str, route: bool) -> bool:
    """Whether a question's answer depends on which way the asker faces: a side or direction ("what is behind me?")
    or a route (``route``: "how do I get to the bed?", whose first step turns)."""
    return route or bool(_DIRECTION_ASKED.search(question.lower()))


def unknown_heading(situation: str, question: str, route: bool) -> Optional[str]:
    """The class of the object a situation places the asker at when it says nothing of which way they face ("I am
    sitting on the chair") while the question needs it ("what is behind me?", a route): the answer is then to ask
    for it, not a guess. None where the situation names a heading, places no one, or the question needs none."""
    if not needs_heading(question, route) or _HEADING_WORDS.search(situation.lower()):
        return None
    mentions = situation_mentions(situation)
    anchor = next((m for m in mentions if m.role in ("sit", "stand")), None)
    return anchor.cls if anchor is not None and anchor.cls in CLASSES and len(mentions) == 1 else None


@dataclass(frozen=True)
class Placement:
    """Where a situation text puts the asker: map-frame position and heading (rad from +x), and whether the text gave
    the heading (otherwise it faces the room's middle, which no answer may depend on)."""

    x: float
    y: float
    yaw: float
    heading_given: bool


def place_situation(text: str, objects: dict[str, list[list[int]]], footprints: torch.Tensor, xy: torch.Tensor,
                    cell_size: torch.Tensor, colour_probs: Optional[torch.Tensor] = None) -> Optional[Placement]:
    """The asker as a situation text puts them: at the centre of the object sat on, or by the one stood by
    (:func:`standing_position`), facing the faced object (or turned so that an object said to be on the left / right
    / behind lies there), else facing the room's middle (``heading_given`` False); None without an anchor the map
    places. ``objects``: class → its objects' columns (the room inventory's; a class it lacks is looked for at
    ``FAINT_MIN_P``)."""
    mentions = situation_mentions(text)
    anchor = next((m for m in mentions if m.role in ("sit", "stand")), None)
    if anchor is None and len(mentions) > 1 and not mentions[0].role:
        anchor = replace(mentions[0], role="stand")  # "Picture me by the bed, facing the tv": where first
        mentions = [anchor, *mentions[1:]]
    if anchor is None:
        return None
    if not any(m.role in OFFSETS_DEG for m in mentions):  # "by the bed, eyes on the tv": what one faces next
        faced = next((m for m in mentions[mentions.index(anchor) + 1:] if not m.role), None)
        if faced is not None:
            mentions[mentions.index(faced)] = replace(faced, role="front")
    named = {cls for m in mentions for cls in (m.cls, *m.near) if cls in CLASSES}
    objects = {cls: objects.get(cls) or class_objects(footprints[:, CLASSES.index(cls)], xy, cell_size, FAINT_MIN_P)
               for cls in named}
    anchor_cells = placed_object(anchor, objects, footprints, xy, colour_probs)
    if anchor_cells is None:
        return None
    position = object_centre(footprints[:, CLASSES.index(anchor.cls)], xy, anchor_cells)
    if anchor.role == "stand":
        position = standing_position(anchor_cells, position, footprints, xy, cell_size)
    for mention in (m for m in mentions if m.role in OFFSETS_DEG and m is not anchor):
        cells = placed_object(mention, objects, footprints, xy, colour_probs, anchor_cells)
        if cells is None:
            continue
        centre = object_centre(footprints[:, CLASSES.index(mention.cls)], xy, cells)
        offset = centre - position
        if float(offset.norm()) < 1e-6:
            continue
        towards = math.atan2(float(offset[1]), float(offset[0]))
        yaw = math.remainder(towards - math.radians(OFFSETS_DEG[mention.role]), 2 * math.pi)
        return Placement(float(position[0]), float(position[1]), yaw, True)
    middle = 0.5 * (xy.double().min(0).values + xy.double().max(0).values) - position  # any heading: into the room
    return Placement(float(position[0]), float(position[1]), math.atan2(float(middle[1]), float(middle[0])), False)


def situation_pose(text: str, objects: dict[str, list[list[int]]], footprints: torch.Tensor, xy: torch.Tensor,
                   cell_size: torch.Tensor, colour_probs: Optional[torch.Tensor] = None, heading_needed: bool = True
                   ) -> Optional[tuple[float, float, float]]:
    """:func:`place_situation` as (x, y, yaw): None without an anchor, or without a heading the text gives where
    ``heading_needed`` (:func:`needs_heading`) — otherwise facing the room's middle, which no answer then depends on
    ("I am sitting on the bed. How far is the tv from me?")."""
    placed = place_situation(text, objects, footprints, xy, cell_size, colour_probs)
    if placed is None or (heading_needed and not placed.heading_given):
        return None
    return placed.x, placed.y, placed.yaw
