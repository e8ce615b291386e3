"""Questions people ask first that the model was never trained on, answered from the map by their words.

The language model answers "where is the chair?" with a direction, "what do you see?" with one class, "describe the
room" with furniture the room does not hold and "how big is the room?" with a distance; the map's class footprints
(``LeoVLModel.class_footprints``, grouped into objects by ``model.map_objects``), the 2D encoder's colour heads and
the columns' seen times answer them instead, in the words people use (:func:`answer_by_words`, which
``model.measure.measured_answer`` asks first):
- "where is the chair?" from no situation: on its support or beside the nearest floor-standing object
  (:func:`measured_location`);
- "what do you see?", "how many things are in the room?", "which objects are on the floor?": the room's inventory
  (:func:`measured_inventory`); "what did you see last?": the objects seen in the last half second
  (:func:`measured_latest`);
- "describe the room" / "describe the lamp": the training captions' form filled from the map
  (:func:`measured_scene_caption`, :func:`measured_object_caption`);
- "how big is the room / the bed?": the map's extents (:func:`measured_room_size`, :func:`measured_object_size`);
- "how tall is the lamp?", "when did you first see it?": the voxels of its class in its columns
  (``model.voxel_questions``, asked by ``agent.answering.Answerer``, which holds the store);
- "which is closer to the bed, the desk or the stool?", "is the chair closer to the bed or the desk?"
  (:func:`measured_closer`);
- "what can you do?", "help": what the robot answers and what the map holds (:func:`measured_help`);
- "where am I?", "what is on my left?", "what's closest to me?" from no situation: how to ask instead
  (:func:`measured_asker_place`);
- "where are you?": the newest fused camera pose placed among the map's objects (:func:`measured_whereabouts`,
  asked by ``agent.answering.Answerer``, which holds the pose).
Routes ("how do I get to the sofa?") are read by their words too (``model.measure.measured_route``). No reader
takes a question the evaluations score but the room and object description requests (``test_room_questions``), so
every other figure stays the model's; held-out figures of these answers: ``docs/model.md``,
``benchmarks/{location,inventory,captions,sizes,closer}.py``. ROS-free.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from typing import Optional

import torch

from leovl_ros.eval.normalize import NOT_SEEN, says_absent
from leovl_ros.model.map_objects import (
    NAMED_OBJECT_MIN_P,
    ON_CLASSES,
    SUPPORT_CLASSES,
    attended_class_object,
    class_objects,
    floor_objects,
    likeliest_class,
    most_probable_first,
    object_centre,
    object_sharing,
    stands_on_floor,
    typical_volume,
)
from leovl_ros.model.measure import (
    BIGGER,
    NEXT_TO_M,
    NO,
    OPENING_UNKNOWN,
    SMALLER,
    SUPPORT_SHARE_MIN,
    THAN,
    YES,
    AskedQuestion,
    Measurement,
    asks_route,
    distance_text,
    doubted_classes,
    measured_route,
    mentions,
    nearest_neighbour,
    opening_named,
    support_of,
)
from leovl_ros.sim.scene import CLASSES, COLOURS
from leovl_ros.sim.spatial import bearing
from leovl_ros.sim.templates import (
    COLOUR_SPELLINGS,
    class_spans,
    classes_named,
    colour_before,
    colour_named,
    count_word,
    plural,
    with_article,
)

CAPTION_CLASSES = 6
"""A room description names this many classes, the largest (the training captions' number)."""

ROOM_KIND_BY_CLASS: tuple[tuple[str, str], ...] = (("toilet", "bathroom"), ("bed", "bedroom"), ("sofa", "living room"),
                                                   ("monitor", "office"), ("desk", "office"))
"""The class that makes a room of a kind, in order (the generator places them first: ``sim.furnish.ROOM_KINDS``)."""

OBJECT_EDGE_SHARE = 0.5
"""How much of its end columns' edge an object's measured side includes (:func:`object_sides`). On 30 validation
rooms (159 objects): 0 / 0.5 / 1 → side error median 0.16 / 0.16 / 0.21 m, p90 0.48 / 0.39 / 0.51 m, both sides
within 0.3 m for 57.9 / 69.8 / 52.8 %."""

LATEST_WINDOW_S = 0.5
"""What the robot saw last: the objects last seen within this of the latest one (the last half second of frames)."""

CORNER_M = 0.9
"""An object whose centre lies this close to two walls stands in a corner (the captions' 0.9 m)."""

MIDDLE_M = 1.2
"""An object whose centre lies further than this from every wall stands in the middle (the captions' 1.2 m)."""

STUDIO_MIN_ODD = 1
"""A room holding this many classes that the best-fitting kind's furniture lacks is a studio (:func:`room_kind`); on
40 validation rooms 1 / 2 / 3 → the kind right 95 / 85 / 82.5 %."""

LOCATION_FAINT_MIN_P = 0.2
"""Where the map shows no object of the class a location question names at ``NAMED_OBJECT_MIN_P``, its faint objects
(footprint above this) are placed instead of leaving the model's direction, which means nothing without a viewpoint.
On 60 validation rooms (300 questions, ``benchmarks/location.py``'s procedure): none / 0.3 / 0.2 / 0.1 → measured 96.7
/ 98.3 / 99.0 / 99.3 %, right 71.3 / 72.7 / 73.0 / 73.0 %."""

_CLOSER = re.compile(r"\b(?:closer|nearer)\b")
_FARTHER = re.compile(r"\b(?:farther|further)\b")
_THAN_TO = re.compile(r"\bthan (?:to|from)\b")
_TO_OR_FROM = re.compile(r"\b(?:to|from)\s+(?:the\s+|a\s+|my\s+)?$")
_WHICH = re.compile(r"\b(?:which|what)\b")
"""What a comparison's reference object follows: "closer to the bed", "farther from the desk"."""

_NOT_WHERE = re.compile(r"\b(?:when|look|looks|describe|way)\b")
"""Words that make a "where" question ask something else: when (last seen), what it looks like (the object captions'
"what does X look like and where is it?"), which way (a route)."""

_INVENTORY = re.compile(
    r"\bwhat (?:do|did|can|could) you (?:see|notice)\b|\bwhat (?:have|has) you (?:seen|noticed|found|mapped)\b"
    r"|\bwhat(?:'s| is| was)? (?:in|inside) (?:the|this|here)\b|\b(?:what|which) (?:objects?|things|items|furniture)\b"
    r"|\b(?:list|enumerate|inventory)\b|\beverything (?:that )?you\b(?!.*\babout\b)"
    r"|\b(?:name|tell me|show me) (?:everything|all)\b(?!.*\babout\b)"
    r"|\bname the (?:objects|things|items|furniture)\b|\b(?:tell|show) me what you (?:see|saw|have seen|noticed)\b"
    r"|\bwhat (?:did|have|has) you (?:find|found|spot|spotted)\b|\bwhat (?:are|were) the (?:objects|things|items)\b"
    r"|\bwhat(?:'s| is)? (?:around|here)\W*(?:you\W*)?$|\bwhat(?:'s| is) there(?: in (?:the|this) room)?\W*$"
    r"|\bwhat stuff\b|\bwhat can be (?:found|seen)\b"
    r"|\bwhat(?:'s| is| are| stands?)? (?:in|on|against|along|by) (?:the|a) (?:corners?|middle|centre|center|walls?"
    r"|floor|ground)\b")
_NOT_INVENTORY = re.compile(
    r"\b(?:biggest|largest|smallest|tiniest|tallest|highest|lowest|shortest|longest|widest|most|least|first|nearest"
    r"|closest|farthest|furthest|colou?r|describe|left|right|front|behind|next|between|under|top|near|how|last"
    r"|latest|recently|just|now|currently|moment)\b")
"""An inventory question asks what the map holds ("what do you see?", "what is in the room?", "list the objects")
and nothing narrower (the biggest or the highest, the first on my left, what is next to, what colour, how many)."""

_OBJECT_DESCRIBE_WORDS = (("describe", "description"), (("look", "like"), ("looks", "like"), ("me", "about"),
                                                        ("everything", "about"), ("all", "about"), ("more", "about"),
                                                        ("know", "about")))
_NOT_OBJECT_DESCRIPTION = re.compile(r"\b(?:colou?r|one word|size|how)\b")
"""A description of a named object (:func:`asks_object_caption`), not of one property ("describe the colour of the
bed in one word")."""

_DESCRIBE_WORDS = (("describe", "description", "summary", "summarise", "summarize", "overview", "layout"),
                   (("look", "like"), ("looks", "like"), ("me", "about"), ("everything", "about"), ("all", "about"),
                    ("more", "about"), ("know", "about")))
_ROOM_WORDS = (("room", "scene", "place", "space", "area", "surroundings", "environment", "here", "around"),
               (("you", "see"), ("you", "saw"), ("you", "seen"), ("have", "seen"), ("you", "found")))
"""A description of the room: a word asking for one and a word for the room, or for what the robot saw
(:func:`asks_scene_caption`: "describe what you saw")."""

_ON_FLOOR = re.compile(r"\bon the (?:floor|ground)\b")
_PLACES = {"in a corner of the room": re.compile(r"\bcorners?\b"),
           "in the middle of the room": re.compile(r"\b(?:middle|centre|center)\b"),
           "against the wall": re.compile(r"\b(?:against|along|by|on) (?:the|a) walls?\b")}
"""The places in the room an inventory question can ask about ("what is in the corner?"), as :func:`room_place`
names them."""
_ROOM_SIZE = re.compile(r"\b(?:how (?:big|large|wide)|how long (?:is|are)|what size|size of|dimensions?"
                        r"|square (?:meters?|metres?))\b")
"""A question about the room's size ("how big is the room?", with a room word and no class: :func:`asks_room_size`)."""

_LATEST = re.compile(r"\b(?:see|seen|saw|seeing|spot|spotted|notice|noticed|look at|looked at)\b.*\b(?:last|latest"
                     r"|most recently|recently|just now|a moment ago|now|at the moment|currently)\b"
                     r"|\blast (?:thing|things|object|objects)\b|\b(?:just|currently) (?:see|saw|spotted|noticed)\b"
                     r"|\bwhat(?:'s| is| are)? (?:you )?(?:looking at|in (?:your )?(?:view|sight))\W*(?:now\W*)?$")
""""What did you see last?", "what have you seen most recently?", "the last thing you saw", "what do you see right
now?", "what are you looking at?", "what's in view?" (:func:`measured_latest`: what the newest frames showed)."""
_EARLIEST = re.compile(r"\b(?:see|seen|saw|spot|spotted|notice|noticed)\b.*\b(?:first|at the start|in the beginning)\b"
                       r"|\bfirst (?:thing|things|object|objects) (?:you|that you|i) (?:saw|seen|noticed)\b")
""""What did you see first?", "the first thing you saw" (:func:`measured_latest` with ``first_seen``)."""

_TOTAL = re.compile(r"\bhow many (?:different )?(?:things|objects|items|pieces of furniture)\b")
""""How many things are in the room?": the inventory with its total first (:func:`measured_inventory`)."""


@dataclass(frozen=True)
class DistanceComparison:
    """A distance comparison read from a question's words: the ``reference`` both gaps are measured to, the two
    ``candidates`` in the order named, whether the smaller gap wins (``closer``) and whether the answer is yes / no
    about the first candidate (``yes_no``) instead of one of the two."""

    reference: str
    candidates: tuple[str, str]
    closer: bool
    yes_no: bool


def distance_comparison(question: AskedQuestion) -> Optional[DistanceComparison]:
    """The comparison a question asks of three named classes, in either form people use: two candidates to a
    reference ("which is closer to the bed, the desk or the stool?", "is the desk farther from the bed than the
    stool?": the reference is the class named right after "to" / "from") or one object to two others ("is the chair
    closer to the bed or the desk?", "is the stool nearer to the bed than to the desk?": the reference is the
    subject, named before the comparative, no "which" / "what" before it). None for another question (no
    comparative of distance or both, not three things named — doors and windows count —, asked from a situation)."""
    words = question.text.lower()
    closer, farther = _CLOSER.search(words), _FARTHER.search(words)
    named = classes_named(words)  # doors and windows too: measured_closer says it cannot place them
    if question.situated or len(named) != 3 or bool(closer) == bool(farther):
        return None
    comparative = (closer or farther).start()
    spans = class_spans(words)
    subject = spans[0][2] if spans[0][1] <= comparative and not _WHICH.search(words[:comparative]) else None
    if subject is not None and (_THAN_TO.search(words) or not THAN.search(words)):  # one object to two others
        reference = subject
    elif _THAN_TO.search(words):
        return None  # two gaps of one object, but no object named before the comparative
    else:
        reference = next((name for start, _, name in spans if _TO_OR_FROM.search(words[:start])), None)
    if reference not in named:
        return None
    first, second = (c for c in named if c != reference)
    return DistanceComparison(reference, (first, second), bool(closer), bool(THAN.search(words)))


def measured_closer(question: AskedQuestion, attention: torch.Tensor, footprints: torch.Tensor, xy: torch.Tensor,
                    cell_size: torch.Tensor) -> Optional[Measurement]:
    """The answer to a :func:`distance_comparison` ("which is closer to the bed, the desk or the stool?" → one of
    the two, grounded on its object; "is the chair closer to the bed or the desk?" → bed or desk; "is the desk
    farther from the bed than the stool?" → yes / no): each class's :func:`attended_class_object`, the candidates
    compared by their nearest columns to the reference's; :data:`OPENING_UNKNOWN` where one of the three is a door or
    a window. None for another question or where the map shows one of them nowhere."""
    comparison = distance_comparison(question)
    if comparison is None:
        return None
    opening = opening_named(question.text)
    if opening is not None:
        return Measurement(OPENING_UNKNOWN.format(opening=opening))
    base = attended_class_object(comparison.reference, attention, footprints, xy, cell_size)
    objects = [attended_class_object(c, attention, footprints, xy, cell_size) for c in comparison.candidates]
    if not base or not all(objects):
        return None
    gaps = [float(torch.cdist(xy[cells].double(), xy[base].double()).min()) for cells in objects]
    if gaps[0] == gaps[1]:
        return None
    first_wins = (gaps[0] < gaps[1]) == comparison.closer
    if comparison.yes_no:
        return Measurement(YES if first_wins else NO)
    winner = 0 if first_wins else 1
    return Measurement(comparison.candidates[winner], objects[winner])


_WHICH_ONE = re.compile(r"^\W*which (?:one of the |of the )?(?P<cls>[a-z ]+?) (?:is|are|stands?|sits?|lies?) "
                        r"(?:the )?(?P<word>closer|closest|nearer|nearest|farther|farthest|further|furthest)\b")
"""Which of a class's objects is nearest (farthest) to another object ("which lamp is closer to the bed?")."""
WHICH_ONE_TIE_M = 0.15
"""Objects whose nearest columns lie this close to the same gap (m) are about as far: both are named."""


def measured_which_one(question: AskedQuestion, attention: torch.Tensor, footprints: torch.Tensor, xy: torch.Tensor,
                       cell_size: torch.Tensor) -> Optional[Measurement]:
    """The answer to "which lamp is closer to the bed?": of the first named class's objects (the inventory's), the one
    whose nearest column is the nearest to (farthest from) the second named class's object, said by where it stands
    ("the lamp on the nightstand", :func:`object_place`; with its distance where another is placed alike) and
    grounded on it; both named where their gaps differ by ``WHICH_ONE_TIE_M`` or less; "I have seen one lamp: it
    is …" for a class the map shows once; :data:`OPENING_UNKNOWN` to "which lamp is closer to the window?". None for
    another question or from a situation."""
    found = _WHICH_ONE.match(question.text.lower())
    if found is None or question.situated or classes_named(found["cls"]) != question.named[:1]:
        return None
    if len(question.named) == 1 and (opening := opening_named(question.text)) is not None:
        return Measurement(OPENING_UNKNOWN.format(opening=opening))  # "which lamp is closer to the window?"
    if len(question.named) != 2:
        return None
    cls, reference = question.named
    inventory = dict(room_inventory(question, footprints, xy, cell_size))
    missing = next((c for c in (cls, reference) if c not in inventory), None)
    if missing is not None:
        return not_seen(missing)
    base = asked_object(reference, attention, footprints, xy, cell_size)
    doubted = doubted_classes(question)
    objects = [o for o in inventory[cls] if not set(o) & set(base)] or inventory[cls]
    if len(objects) == 1:
        return only_one(footprints, xy, cell_size, cls, objects[0], doubted)
    gaps = [float(torch.cdist(xy[o].double(), xy[base].double()).min()) for o in objects]
    pick = (min if found["word"] in ("closer", "closest", "nearer", "nearest") else max)(
        range(len(objects)), key=lambda i: gaps[i])
    places = [object_place(footprints, xy, cell_size, cls, o, doubted) for o in objects]
    tied = [i for i in range(len(objects)) if abs(gaps[i] - gaps[pick]) <= WHICH_ONE_TIE_M]
    if len(tied) > 1:  # lamps on the nightstands either side of the bed
        said = list(dict.fromkeys(places[i] for i in tied if places[i]))
        which = "both" if len(tied) == 2 else f"{count_word(len(tied))} of the"
        how = "close to" if found["word"] in ("closer", "closest", "nearer", "nearest") else "far from"
        text = f"{which} {plural(cls)} are about as {how} the {reference} ({distance_text(gaps[pick])})"
        if len(said) == len(tied):  # each placed apart: "one on the nightstand and one next to the bed"
            text += ": " + " and ".join(f"one {place}" for place in said)
        return Measurement(text, most_probable_first(footprints, cls, objects[pick]))
    text = f"the {cls} {places[pick]}" if places[pick] else f"the {cls}"
    if not places[pick] or places.count(places[pick]) > 1:  # two lamps on nightstands: say which by the distance
        text += f"{',' if places[pick] else ''} {distance_text(gaps[pick])} from the {reference}"
    return Measurement(text, most_probable_first(footprints, cls, objects[pick]))


def only_one(footprints: torch.Tensor, xy: torch.Tensor, cell_size: torch.Tensor, cls: str, cells: list[int],
             doubted: Collection[str] = ()) -> Measurement:
    """The answer to "which lamp is …?" where the map shows one: "I have seen one lamp: it is on the nightstand",
    grounded on it."""
    place = object_place(footprints, xy, cell_size, cls, cells, doubted)
    return Measurement(f"I have seen one {cls}" + (f": it is {place}" if place else ""),
                       most_probable_first(footprints, cls, cells))


def not_seen(asked: str) -> Measurement:
    """The answer about an object the map shows nowhere, not even faintly ("I have not seen a window"): where the
    absent gate did not judge the class absent, the language model would answer with a direction or a size out of
    nothing."""
    return Measurement(f"{NOT_SEEN} {with_article(asked)}")


_FIND = re.compile(r"^\W*(?:please |hey robot,? |robot,? )?(?:(?:can|could) you )?(?:find|locate|show me|point (?:me )?"
                   r"(?:to|at)|search for|list)\s+(?P<rest>.*)$")
"""A request to find an object ("find the chair", "can you show me the bed?", "point to the lamp", "list all the
chairs")."""
_FIND_FILLER = frozenset({"the", "a", "an", "my", "please", "for", "me", "in", "this", "room", "here", "all", "every"})
"""Words a find request may hold besides its object ("find the chair for me please")."""


def asks_to_find(question: str) -> bool:
    """Whether a text is a request to find one named object and nothing more (:data:`_FIND`): "find the red chair",
    not "find the object farthest from the chair"."""
    found = _FIND.match(question.lower())
    if found is None:
        return False
    named, others = words_besides_classes(found["rest"])
    return named == 1 and all(w in _FIND_FILLER or w in COLOUR_SPELLINGS for w in others)


def words_besides_classes(text: str) -> tuple[int, list[str]]:
    """How many class phrasings a lower-case text holds (:func:`class_spans`) and its words outside them: what the
    readers that take "a class and nothing else" ("find the chair", "how many lamps and chairs?") look at."""
    spans = class_spans(text)
    for start, end, _ in reversed(spans):
        text = f"{text[:start]} {text[end:]}"
    return len(spans), re.findall(r"[a-z]+", text)


_LOCATION = re.compile(r"\b(?:location|whereabouts)\b|\bposition of\b")
"""A location asked without "where" ("the lamp's location?", "position of the bed")."""
_BARE_CLASS_WORDS = frozenset({"the", "a", "an", "my", "location", "position", "please"})
"""What a question made of one class phrase may hold besides it ("bed?", "the red chair", "lamp location")."""


def asks_location(question: str) -> bool:
    """Whether a question asks where something is ("where is the chair?", "where can I find a lamp?", "do you know
    where the bin is?", "find the chair", "show me the bed", "location of the lamp", or the class alone: "bed?";
    a swapped pair of letters forgiven), not when it was seen, what it looks like or which way leads to it."""
    words = question.lower()
    return (mentions(words, ("where",), ()) or bool(_LOCATION.search(words)) or asks_to_find(words)
            or names_only_a_class(words)) and not _NOT_WHERE.search(words) and not asks_route(words)


def names_only_a_class(text: str) -> bool:
    """Whether a text is one class phrase and nothing else ("bed?", "the red chair", "lamp location"): a user
    typing an object's name wants to know where it is."""
    named, others = words_besides_classes(text.lower())
    return named == 1 and all(w in _BARE_CLASS_WORDS or w in COLOUR_SPELLINGS for w in others)


def asked_object(asked: str, attention: torch.Tensor, footprints: torch.Tensor, xy: torch.Tensor,
                 cell_size: torch.Tensor) -> list[int]:
    """The object a question names: the class's :func:`attended_class_object`, else its faint one (footprint above
    ``LOCATION_FAINT_MIN_P``) where the map shows no other; empty when it shows none."""
    return attended_class_object(asked, attention, footprints, xy, cell_size) or attended_class_object(
        asked, attention, footprints, xy, cell_size, LOCATION_FAINT_MIN_P)


def places_words(asked: str, count: int, places: list[str]) -> str:
    """Where ``count`` objects of a class are, each place said once: "the two lamps are on the desk and next to the
    bed", "the two chairs are both next to the stool", "of the three chairs, two are next to the desk and one is
    next to the bed"."""
    said = Counter(places)
    head = f"the {count_word(count)} {plural(asked)}"
    if len(said) == 1 and said[places[0]] == count:
        return f"{head} are {'both' if count == 2 else 'all'} {places[0]}"
    if all(n == 1 for n in said.values()):
        return f"{head} are {' and '.join(said)}"
    parts = [f"{count_word(n)} {'are' if n > 1 else 'is'} {place}" for place, n in said.items()]
    return f"of {head}, {' and '.join(parts)}"


COLOUR_WORD = re.compile(r"\bcolou?rs?\b")
"""A question's word for colour ("colour", "colors")."""


_ON_WHAT = re.compile(r"^\W*(?:(?:is|are)(?: there)?|does|do) (?P<thing>[a-z' ]+?) (?:(?:stand|stands|standing|lie|lies"
                      r"|lying|sit|sits|sitting|rest|rests|resting|placed|put|kept|set) )?(?:on top of|on|upon) "
                      r"(?P<support>[a-z' ]+?)\W*$")
"""A yes/no question whether an object is on another, or on the floor ("is the tv on the desk?", "is there a pillow
on the bed?", "does the lamp stand on the nightstand?", "is the box on the floor?"), or which of two it is on ("is
the pillow on the bed or the sofa?")."""
_ON_WHAT_FILLER = frozenset({"the", "a", "an", "any", "some", "my", "your", "this", "that", "or"})
"""The words besides its classes (and colours) either side of :data:`_ON_WHAT`'s "on" may hold: "on the left of the
bed", "on the nightstand next to the bed" ask something else."""
_FLOOR_WORDS = frozenset({"floor", "ground"})
_ANYTHING = frozenset({"anything", "something", "any", "some", "thing", "things", "objects", "stuff"})
"""What :data:`_ON_WHAT`'s object may be made of to ask what stands on a support ("is there anything on the bed?")."""


def measured_on_support(question: AskedQuestion, footprints: torch.Tensor, colour_probs: Optional[torch.Tensor],
                        xy: torch.Tensor, cell_size: torch.Tensor, choice_only: bool = False) -> Optional[Measurement]:
    """The answer to "is the tv on the desk?" (:data:`_ON_WHAT`) from what the named class's objects stand on
    (:func:`support_of`, for the classes that stand on others; the named support is never a doubted look-alike; its
    faint objects, above ``LOCATION_FAINT_MIN_P``, where the map shows no other):
    "yes" grounded on the object that stands on it, else "no" grounded on the asked object (the one in the asked
    colour where one is said); "no, I have not seen a lamp" where the map shows none; to "… on the bed or the sofa?"
    the one of the two it stands on (alone with ``choice_only``: where the absent gate judged one of them absent).
    None for another question, or where the object stands on neither of two offered. The model never saw such a
    question: it said "yes" to most."""
    found = _ON_WHAT.match(question.text.lower().strip())
    if found is None or question.situated:
        return None
    if _ANYTHING.issuperset(found["thing"].split()):  # "is there anything on the bed?" (:func:`asks_what_is_on`)
        return measured_anything_on(question, found["support"], footprints, xy, cell_size)
    sides = [words_besides_classes(found[part]) for part in ("thing", "support")]
    if any(w not in _ON_WHAT_FILLER and w not in COLOUR_SPELLINGS and w not in _FLOOR_WORDS
           for _, words in sides for w in words) or found["support"].split()[-1] in COLOUR_SPELLINGS:
        return None  # "is the pillow on the bed blue?" asks a colour
    things = [c for c in classes_named(found["thing"]) if c in CLASSES]
    supports = [c for c in classes_named(found["support"]) if c in SUPPORT_CLASSES]
    floor = bool(_FLOOR_WORDS.intersection(sides[1][1]))
    if sides[0][0] != 1 or len(things) != 1 or _FLOOR_WORDS.intersection(sides[0][1]) \
            or sides[1][0] != len(supports) or not 1 <= len(supports) + floor <= 2 \
            or (choice_only and len(supports) + floor != 2):
        return None
    asked = things[0]
    objects = next((shown for min_p in (NAMED_OBJECT_MIN_P, LOCATION_FAINT_MIN_P)
                    if (shown := class_objects(footprints[:, CLASSES.index(asked)], xy, cell_size, min_p))), [])
    if not objects:
        return Measurement(f"{NO}, {NOT_SEEN} {with_article(asked)}")
    said = colour_before(found["thing"], asked)
    if said is not None and colour_probs is not None:
        objects = [max(objects, key=lambda o: colour_share(colour_probs, footprints, asked, o, said))]
    doubted = doubted_classes(question) - set(supports)
    stands = [(support[0] if asked in ON_CLASSES and (support := support_of(footprints, xy, cell_size, asked, o,
                                                                             doubted)) else None, o)
              for o in objects]
    on = [(where, o) for where, o in stands if where in supports or (floor and where is None
                                                                      and stands_on_floor(footprints, o, asked))]
    if len(supports) + floor == 2:  # "on the bed or the sofa?": the one it is on
        return Measurement(on[0][0] or "floor", most_probable_first(footprints, asked, on[0][1])) if on else None
    if on:
        return Measurement(YES, most_probable_first(footprints, asked, on[0][1]))
    return Measurement(NO, most_probable_first(footprints, asked, objects[0]))


def asks_what_is_on(text: str) -> bool:
    """Whether a question asks if anything stands on something ("is there anything on the bed?", :data:`_ANYTHING`)."""
    found = _ON_WHAT.match(text.lower().strip())
    return found is not None and _ANYTHING.issuperset(found["thing"].split())


def measured_anything_on(question: AskedQuestion, support_words: str, footprints: torch.Tensor, xy: torch.Tensor,
                         cell_size: torch.Tensor) -> Optional[Measurement]:
    """The answer to "is there anything on the bed?": the inventory's objects (:func:`room_inventory`) of the classes
    that stand on others (``ON_CLASSES``) whose support (:func:`support_of`) is of that class, or those that stand on
    the floor (:func:`on_floor`):
    "yes, a pillow and a lamp" grounded on each class's first, else "no, I see nothing on the bed" grounded on the
    support (always for a class nothing stands on, a chair); "no, I have not seen a bed" where the map shows none.
    None where ``support_words`` name anything but one class or the floor."""
    count, words = words_besides_classes(support_words)
    supports = [c for c in classes_named(support_words) if c in CLASSES]  # a chair holds nothing the map places
    floor = count == 0 and bool(_FLOOR_WORDS.intersection(words))
    if any(w not in _ON_WHAT_FILLER and w not in _FLOOR_WORDS for w in words) \
            or not (floor or (count == 1 and len(supports) == 1)):
        return None
    found = room_inventory(question, footprints, xy, cell_size)
    if floor:  # "is there anything on the floor?": what stands on it
        on, support, shown = on_floor(footprints, found), "floor", []
    else:
        support = supports[0]
        shown = class_objects(footprints[:, CLASSES.index(support)], xy, cell_size, NAMED_OBJECT_MIN_P)
        if not shown:
            return Measurement(f"{NO}, {NOT_SEEN} {with_article(support)}")
        doubted = doubted_classes(question) - {support}
        on = [(cls, kept) for cls, objects in found if cls in ON_CLASSES
              and (kept := [o for o in objects if (under := support_of(footprints, xy, cell_size, cls, o, doubted))
                            and under[0] == support])]
    if not on:
        return Measurement(f"{NO}, I see nothing on the {support}",
                           most_probable_first(footprints, support, shown[0]) if shown else [])
    return Measurement(f"{YES}, {inventory_words(on)}", inventory_cells(footprints, on))


def measured_location(question: AskedQuestion, attention: torch.Tensor, footprints: torch.Tensor, xy: torch.Tensor,
                      cell_size: torch.Tensor) -> Optional[Measurement]:
    """The answer to "where is the chair?" asked from no situation ("the chair is next to the bed", "the lamp is on
    the desk"), grounded on the object: the first named class's :func:`attended_class_object` (a faint one, above
    ``LOCATION_FAINT_MIN_P``, where the map shows no other), placed by what it stands on (:func:`support_of`; only
    classes that stand on others, ``ON_CLASSES``: a chair tucked under a table shares its columns), else by the
    floor-standing object nearest to it (:func:`nearest_neighbour`: "next to" within ``NEXT_TO_M``, "near" beyond; a
    desk, not the lamp on it); asked in the plural where the map shows several ("where are the lamps?"), each of
    them ("the two lamps are on the nightstand and next to the bed"). None for another question (situated: a
    direction from the pose is the answer there; no class named; no words of a location) or where the map shows
    nothing beside it; :func:`not_seen` where it shows no such object; :data:`OPENING_UNKNOWN` for a door or a
    window."""
    if question.situated or not asks_location(question.text):
        return None
    if not question.named:
        opening = opening_named(question.text)
        return None if opening is None else Measurement(OPENING_UNKNOWN.format(opening=opening))
    asked = question.named[0]
    cells = asked_object(asked, attention, footprints, xy, cell_size)
    if not cells:
        return not_seen(asked)
    doubted = doubted_classes(question)
    objects = class_objects(footprints[:, CLASSES.index(asked)], xy, cell_size)
    if asks_plural(question.text, asked) and len(objects) > 1:  # "where are the lamps?": each of them
        places = [place for o in objects if (place := object_place(footprints, xy, cell_size, asked, o, doubted))]
        if places:
            return Measurement(places_words(asked, len(objects), places),
                               most_probable_first(footprints, asked, objects[0]))
    place = object_place(footprints, xy, cell_size, asked, cells, doubted)
    if place is None:
        return None
    if asks_plural(question.text, asked) and len(objects) == 1:  # "where are the chairs?" about the one there is
        return Measurement(f"I have seen one {asked}: it is {place}", cells)
    return Measurement(f"the {asked} is {place}", cells)


def asks_plural(text: str, cls: str) -> bool:
    """Whether a text names ``cls`` in its plural ("where are the lamps?")."""
    return re.search(rf"\b{re.escape(plural(cls))}\b", text.lower()) is not None


def object_place(footprints: torch.Tensor, xy: torch.Tensor, cell_size: torch.Tensor, cls: str, cells: list[int],
                 leave_out: Collection[str] = ()) -> Optional[str]:
    """Where an object of class ``cls`` stands, as :func:`measured_location` says it: "on the desk" (its support,
    for a class that stands on others), else "next to the bed" / "near the sofa" (the nearest floor-standing object
    not of ``leave_out``, nor a support of those); None where the map shows nothing beside it."""
    support = support_of(footprints, xy, cell_size, cls, cells, leave_out) if cls in ON_CLASSES else None
    if support is not None:
        return f"on the {support[0]}"
    neighbour = nearest_neighbour(footprints, xy, cell_size, cls, cells, floor_only=True, leave_out=leave_out)
    if neighbour is None:
        return None
    distance, other, _ = neighbour
    return f"{'next to' if distance <= NEXT_TO_M else 'near'} the {other}"


def asks_inventory(question: str) -> bool:
    """Whether a question asks what the room holds ("what do you see?", "what have you seen?", "what's in this
    room?", "which objects are there?", "list the furniture", "how many things are in the room?"), not something
    narrower (:data:`_NOT_INVENTORY`, a colour)."""
    words = question.lower()
    rest = _TOTAL.sub(" ", words)  # its "how" asks the total, not a narrower count
    return bool(rest != words or _INVENTORY.search(words)) and not _NOT_INVENTORY.search(rest) \
        and COLOUR_SPELLINGS.isdisjoint(re.findall(r"[a-z]+", words))  # "which object is orange?" asks a class


def room_inventory(question: AskedQuestion, footprints: torch.Tensor, xy: torch.Tensor, cell_size: torch.Tensor
                   ) -> list[tuple[str, list[list[int]]]]:
    """Every class the map holds objects of (:func:`class_objects` at ``COUNT_MIN_P``, as room counts are measured)
    and the model's class presence does not doubt (``PRESENCE_MIN``), with its objects, the largest classes first."""
    doubted = doubted_classes(question)
    found = sorted(((typical_volume(cls, None), cls, objects) for index, cls in enumerate(CLASSES)
                    if cls not in doubted and (objects := class_objects(footprints[:, index], xy, cell_size))),
                   key=lambda f: -f[0])
    return [(cls, objects) for _, cls, objects in found]


def on_floor(footprints: torch.Tensor, found: list[tuple[str, list[list[int]]]]) -> list[tuple[str, list[list[int]]]]:
    """:func:`room_inventory`'s classes with only their objects that stand on the floor (:func:`stands_on_floor`)."""
    return [(cls, kept) for cls, objects in found
            if (kept := [o for o in objects if stands_on_floor(footprints, o, cls)])]


def inventory_words(found: list[tuple[str, list[list[int]]]]) -> str:
    """'a bed, two chairs and a lamp' for :func:`room_inventory`'s classes."""
    items = [f"a {cls}" if len(objects) == 1 else f"{count_word(len(objects))} {plural(cls)}"
             for cls, objects in found]
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def inventory_cells(footprints: torch.Tensor, found: list[tuple[str, list[list[int]]]]) -> list[int]:
    """One column of each listed class: its first object's most probable one (the answer's grounding)."""
    return [most_probable_first(footprints, cls, objects[0])[0] for cls, objects in found]


def measured_inventory(question: AskedQuestion, footprints: torch.Tensor, xy: torch.Tensor, cell_size: torch.Tensor
                       ) -> Optional[Measurement]:
    """The answer to "what do you see?" (no class named, from no situation): the :func:`room_inventory` with each
    class's number, largest first ("a bed, two chairs, a lamp and a tv"; to "how many things …?" their total first:
    "five things: a bed, …"), grounded on each class's first object; only the objects standing on the floor or in
    the place asked ("what is in the corner?", :data:`_PLACES`). None for another question or an empty map."""
    if question.situated or question.named or not asks_inventory(question.text):
        return None
    found = room_inventory(question, footprints, xy, cell_size)
    words = question.text.lower()
    if _ON_FLOOR.search(words):  # "which objects are on the floor?": those that stand on it
        found = on_floor(footprints, found)
    place = next((name for name, pattern in _PLACES.items() if pattern.search(words)), None)
    if place is not None and found:  # "what is in the corner?": the objects :func:`room_place` puts there
        found = [(cls, kept) for cls, objects in found if (kept := [o for o in objects if room_place(xy, o) == place])]
        if not found:
            return Measurement(f"I have seen nothing {place}")
    if not found:
        return None
    text = inventory_words(found)
    if _TOTAL.search(question.text.lower()):
        total = sum(len(objects) for _, objects in found)
        text = f"{count_word(total)} thing{'s' if total > 1 else ''}: {text}"
    return Measurement(text, inventory_cells(footprints, found))


_HELP = re.compile(
    r"^\W*(?:help(?: me)?|what (?:can|could) (?:you do|i ask(?: you)?)|what (?:should|may) i ask(?: you)?"
    r"|what (?:do|can) you (?:do|know how to do|answer)|how do i use you|what are you able to do)\W*$")
"""Asking what the robot can be asked ("help", "what can you do?", "what can I ask you?"), and nothing else."""

HELP_EXAMPLES = ("how many {plural} are there?", "where is the {cls}?", "what colour is the {cls}?",
                 "when did you last see the {cls}?", "how tall is the {cls}?", "is the {cls} on your left or right?",
                 "describe the room")
"""The questions the help answer suggests, filled with the map's classes."""


def asks_help(text: str) -> bool:
    """Whether a question asks what the robot can answer (:data:`_HELP`)."""
    return bool(_HELP.match(text.lower().strip()))


def measured_help(question: AskedQuestion, footprints: torch.Tensor, xy: torch.Tensor, cell_size: torch.Tensor
                  ) -> Optional[Measurement]:
    """The answer to "what can you do?": what the robot answers, what the map holds so far (:func:`room_inventory`)
    and questions to ask about it, grounded as the inventory. None for another question."""
    if not asks_help(question.text):
        return None
    found = room_inventory(question, footprints, xy, cell_size)
    if not found:
        return Measurement("I answer questions about what my camera has seen; I have not seen any object yet.")
    first, last = found[0][0], found[-1][0]
    counted = max(found, key=lambda f: len(f[1]))[0]  # the class with the most objects: a count worth asking
    examples = [e.format(cls=first if i % 2 else last, plural=plural(counted)) for i, e in enumerate(HELP_EXAMPLES)]
    return Measurement(f"I answer questions about what my camera has seen: so far {inventory_words(found)}. "
                       f"Ask me, for example, {', '.join(repr(e) for e in examples[:-1])} or {examples[-1]!r}.",
                       inventory_cells(footprints, found))


_ASKER_PLACE = re.compile(r"^\W*(?:where am i(?: now| right now| standing)?|where are we(?: now)?)\W*$")
"""Asking where the asker is ("where am I?"), which only a situation tells."""

ASKER_PLACE_ANSWER = ("I cannot tell where you are: tell me your situation (e.g. \"I am sitting on the bed\") or "
                      "ask \"where are you?\" for where I am")
"""The answer to "where am I?" asked from no situation."""


_ASKER_VIEWPOINT = re.compile(
    r"\bmy (?:left|right|front|back|side|position|location|viewpoint|point of view|perspective)\b"
    r"|\b(?:in front of|behind|beside|next to|near|around|from|relative to|left of|right of|far from|away from"
    r"|(?:nearest|closest|closer|nearer|farthest|furthest|farther|further)(?: to| from)?) me\b"
    r"|\bhow far am i\b|\bam i (?:near|close to|next to|facing|looking at)\b")
"""A question from the asker's own viewpoint ("what is on my left?", "what's closest to me?", "how far is the bed from
me?", "how far am I from the bed?"), which only a situation places; "your left" is the robot's
(``agent.robot_view``)."""

ASKER_VIEWPOINT_ANSWER = ("I cannot tell where you are: tell me your situation (e.g. \"I am sitting on the bed\") or "
                          "ask from where I am (\"what is on your left?\", \"how far is the bed from you?\")")
"""The answer to a question from the asker's viewpoint asked from no situation."""


def measured_asker_place(question: AskedQuestion) -> Optional[Measurement]:
    """The answer to "where am I?" (:data:`ASKER_PLACE_ANSWER`) or to a question from the asker's viewpoint
    (:data:`ASKER_VIEWPOINT_ANSWER`: "what is on my left?") asked from no situation: the map knows where the robot is,
    not the asker, and the model would answer from nowhere. None for another question or one asked from a situation
    (the model's)."""
    if question.situated:
        return None
    text = question.text.lower().strip()
    if _ASKER_PLACE.match(text):
        return Measurement(ASKER_PLACE_ANSWER)
    return Measurement(ASKER_VIEWPOINT_ANSWER) if _ASKER_VIEWPOINT.search(text) else None


_WHEREABOUTS = re.compile(r"^\W*(?:where are you(?: now| right now| standing| at)?|where is the robot(?: now)?"
                          r"|where are you located|what is your (?:location|position))\W*$")
"""Asking where the robot is ("where are you?", "what is your position?"), and nothing else."""

FACING_DEG = 30.0
"""An object whose centre lies within this angle of the camera's forward direction is the one it faces."""


def asks_whereabouts(text: str) -> bool:
    """Whether a question asks where the robot is (:data:`_WHEREABOUTS`)."""
    return bool(_WHEREABOUTS.match(text.lower().strip()))


def measured_whereabouts(camera_pose: torch.Tensor, footprints: torch.Tensor, xy: torch.Tensor,
                         cell_size: torch.Tensor) -> Measurement:
    """Where the camera (``camera_pose`` [4, 4], camera-to-map, optical: z forward) is, in the words of the captions:
    its place in the room (:func:`place_in_room`), the floor-standing object nearest to it ("next to" within
    ``NEXT_TO_M`` of its nearest column's edge, "near" within three times that) and the nearest one it faces (centre
    within ``FACING_DEG`` of its forward direction); grounded on the nearest object."""
    pose = camera_pose.double()
    here = pose[:2, 3]
    objects = floor_objects(footprints, xy, cell_size)
    parts = [place_in_room(xy, here)]
    if not objects:
        return Measurement(f"I am {parts[0]}; the map shows no object to place me by")
    gaps = [float(((xy[cells].double() - here).norm(dim=1) - cell_size[cells].double() / 2).clamp_min(0).min())
            for _, cells, _ in objects]  # to the nearest column's edge
    nearest = min(range(len(objects)), key=gaps.__getitem__)
    if gaps[nearest] <= 3 * NEXT_TO_M:
        parts.append(f"{'next to' if gaps[nearest] <= NEXT_TO_M else 'near'} the {objects[nearest][0]}")
    forward = pose[:2, 2]
    if float(forward.norm()) > 0.1:  # not looking straight down or up
        offsets = torch.stack([centre for _, _, centre in objects]) - here
        distances = offsets.norm(dim=1)
        ahead = (distances > 0.1) & (offsets @ forward > math.cos(math.radians(FACING_DEG)) * distances
                                     * forward.norm())
        if bool(ahead.any()):
            faced = int(torch.where(ahead, distances, torch.inf).argmin())
            parts.append("facing it" if faced == nearest and len(parts) > 1 else f"facing the {objects[faced][0]}")
    cls, cells, _ = objects[nearest]
    return Measurement(f"I am {', '.join(parts)}", most_probable_first(footprints, cls, cells))


def asks_object_caption(question: AskedQuestion) -> bool:
    """Whether a question asks for a description of one named object ("describe the red chair", "give a short
    description of the lamp", "what does the bed look like and where is it?", "tell me about the sofa"; a swapped
    pair of letters forgiven), not one property of it (its colour, its size)."""
    return len(question.named or []) >= 1 and mentions(question.text, *_OBJECT_DESCRIBE_WORDS) \
        and not _NOT_OBJECT_DESCRIPTION.search(question.text.lower())


def object_colours(colour_probs: torch.Tensor, footprints: torch.Tensor, cls: str, cells: list[int]) -> torch.Tensor:
    """The colours the 2D encoder sees on an object [len(COLOURS)]: its columns' probabilities of the named
    ``COLOURS`` (``colour_probs`` [N, K] ends with 'none'), weighted by their footprint of the class."""
    weights = footprints[cells, CLASSES.index(cls)].double().clamp_min(1e-6)
    return (colour_probs[cells, : len(COLOURS)].double() * weights[:, None]).sum(0) / weights.sum()


def colour_share(colour_probs: torch.Tensor, footprints: torch.Tensor, cls: str, cells: list[int], colour: str
                 ) -> float:
    """How much of an object the 2D encoder sees in ``colour`` (:func:`object_colours`)."""
    return float(object_colours(colour_probs, footprints, cls, cells)[list(COLOURS).index(colour)])


COLOUR_KEEP_SHARE = 0.3
"""A colour the model said stays where the 2D encoder sees it on the object at least this share of its likeliest
colour's (a pillow's columns also show the bed under it). On 80 validation rooms (223 questions): none / 0.15 / 0.3 /
0.45 / 0.6 → 78.9 / 77.6 / 80.3 / 78.9 / 78.9 % right."""


def measured_colour(question: AskedQuestion, attention: torch.Tensor, footprints: torch.Tensor,
                    colour_probs: torch.Tensor, xy: torch.Tensor, cell_size: torch.Tensor, said: str = ""
                    ) -> Optional[Measurement]:
    """The answer to a colour question about one class ("what colour is the desk?", "describe the colour of the lamp
    on the table in one word"): the likeliest colour the 2D encoder's colour heads see over the class's object the
    question names (:func:`asked_object`, :func:`object_colours`), grounded on it, unless the colour the model
    ``said`` is seen there too (``COLOUR_KEEP_SHARE``) — the language model read the colour off the scene tokens less
    well (on 80 validation rooms, 223 questions: 71.3 → 80.3 % right). Asked in the plural where the map shows several,
    each one's ("the two lamps are blue and brown", :func:`places_words`). None asked from a situation, naming other
    than one class, or where the map shows no such object."""
    if question.situated or len(question.named) != 1:
        return None
    asked = question.named[0]
    found = class_objects(footprints[:, CLASSES.index(asked)], xy, cell_size) if asks_plural(question.text, asked) \
        else []
    if len(found) > 1:  # "what colour are the lamps?": each of them, as the inventory counts them
        colours = [object_colour(colour_probs, footprints, asked, o) for o in found]
        return Measurement(places_words(asked, len(found), colours),
                           [most_probable_first(footprints, asked, o)[0] for o in found])
    cells = asked_object(asked, attention, footprints, xy, cell_size)
    if not cells:
        return None
    seen = object_colours(colour_probs, footprints, asked, cells)
    if said in COLOURS and float(seen[list(COLOURS).index(said)]) >= COLOUR_KEEP_SHARE * float(seen.max()):
        return Measurement(said, cells)
    return Measurement(list(COLOURS)[int(seen.argmax())], cells)


_IS_COLOUR = re.compile(r"^\W*(?:is|are) (?P<thing>[a-z' ]+?) (?:colou?red |painted )?(?P<colour>[a-z]+)"
                        r"(?: or (?:colou?red |painted )?(?P<colour2>[a-z]+))?(?: in colou?r)?\W*$")
"""Whether an object has a colour ("is the chair red?", "are the pillows blue?", "is the bin painted black?"), or
which of two it has ("is the lamp gray or brown?")."""
_IS_COLOUR_FILLER = frozenset({"the", "a", "an", "my", "your", "this", "that", "these", "those"})


def asks_colour_check(text: str) -> bool:
    """Whether a question asks if an object has a colour ("is the chair red?", :data:`_IS_COLOUR`)."""
    found = _IS_COLOUR.match(text.lower().strip())
    return found is not None and colour_named(found["colour"]) is not None


def measured_colour_check(question: AskedQuestion, attention: torch.Tensor, footprints: torch.Tensor,
                          colour_probs: Optional[torch.Tensor], xy: torch.Tensor, cell_size: torch.Tensor
                          ) -> Optional[Measurement]:
    """The answer to "is the chair red?" (:data:`_IS_COLOUR`, one class named): "yes" where the colour heads see the
    asked colour on its object (:func:`asked_object`) at ``COLOUR_KEEP_SHARE`` of the likeliest or more — the share
    at which "what colour is the chair?" keeps a colour the model said — else "no, it is gray" (the likeliest); to
    "is the lamp gray or brown?" the one of the two seen more ("neither: it is blue"); each object's colour where the
    plural asks about several. :func:`not_seen` where the map shows no such object. The model answered with the
    colour ("red"). None for another question or without colour heads."""
    found = _IS_COLOUR.match(question.text.lower().strip())
    if found is None or colour_probs is None or question.situated or len(question.named) != 1:
        return None
    colour, other = colour_named(found["colour"]), colour_named(found["colour2"])
    count, words = words_besides_classes(found["thing"])
    if colour is None or (found["colour2"] and other is None) or count != 1 \
            or any(w not in _IS_COLOUR_FILLER for w in words):
        return None
    measured = measured_colour(question, attention, footprints, colour_probs, xy, cell_size)
    if measured is None:
        return not_seen(question.named[0])
    if measured.text not in COLOURS:  # several objects: each one's colour ("the two lamps are gray and brown")
        return measured
    seen = object_colours(colour_probs, footprints, question.named[0], measured.cells)

    def share(name: str) -> float:
        return float(seen[list(COLOURS).index(name)]) / max(float(seen.max()), 1e-12)

    kept = [name for name in (colour, other) if name is not None and share(name) >= COLOUR_KEEP_SHARE]
    if other is not None:
        return Measurement(max(kept, key=share) if kept else f"neither: it is {measured.text}", measured.cells)
    return Measurement(YES if kept else f"{NO}, it is {measured.text}", measured.cells)


def object_colour(colour_probs: Optional[torch.Tensor], footprints: torch.Tensor, cls: str, cells: list[int]
                  ) -> Optional[str]:
    """The likeliest colour the 2D encoder sees on an object (:func:`object_colours`); None without colour heads."""
    if colour_probs is None or not cells:
        return None
    return list(COLOURS)[int(object_colours(colour_probs, footprints, cls, cells).argmax())]


def room_place(xy: torch.Tensor, cells: list[int]) -> str:
    """Where an object stands in the room, as the captions say it: 'in a corner of the room' (within 0.9 m of two
    walls), 'in the middle of the room' (over 1.2 m from every wall), else 'against the wall'; the walls are the
    map's outermost columns."""
    return place_in_room(xy, xy[cells].double().mean(0))


def place_in_room(xy: torch.Tensor, point: torch.Tensor) -> str:
    """:func:`room_place` of a map point (x, y)."""
    low, high = xy.double().min(0).values, xy.double().max(0).values
    wall = torch.minimum(point.double() - low, high - point.double())
    if bool((wall < CORNER_M).all()):
        return "in a corner of the room"
    return "in the middle of the room" if bool((wall > MIDDLE_M).all()) else "against the wall"


def measured_object_caption(question: AskedQuestion, attention: torch.Tensor, footprints: torch.Tensor,
                            colour_probs: Optional[torch.Tensor], xy: torch.Tensor, cell_size: torch.Tensor
                            ) -> Optional[Measurement]:
    """The answer to "describe the chair" (from no situation), in the training captions' form: "a red chair on the
    brown desk, with a white lamp on it, next to the gray bed" — the named class's most-attended object
    (:func:`asked_object`; where the question names its colour, the class's object the 2D encoder sees most
    in it, :func:`colour_share`, said in the asker's colour) with its colour (:func:`object_colour`), what it stands on
    (:func:`support_of`), what stands on it, the floor-standing object next to it (:func:`nearest_neighbour`,
    within ``NEXT_TO_M``) and, standing on the floor, where in the room (:func:`room_place`); at most three parts,
    grounded on the object. None for another question; :func:`not_seen` where the map shows no such object."""
    if question.situated or not asks_object_caption(question):
        return None
    asked = question.named[0]
    said = colour_before(question.text, asked)  # "the orange cushion": that one, and its colour as the asker says
    shades = [] if said is None or colour_probs is None else [
        (colour_share(colour_probs, footprints, asked, o, said), o)
        for o in class_objects(footprints[:, CLASSES.index(asked)], xy, cell_size, NAMED_OBJECT_MIN_P)]
    cells = max(shades, key=lambda s: s[0])[1] if shades else asked_object(asked, attention, footprints, xy, cell_size)
    if not cells:
        return not_seen(asked)

    def named(cls: str, object_cells: list[int]) -> str:
        colour = said if object_cells is cells and said else object_colour(colour_probs, footprints, cls, object_cells)
        return f"{colour} {cls}" if colour else cls

    parts = []
    support = support_of(footprints, xy, cell_size, asked, cells) if asked in ON_CLASSES else None
    if support is not None:
        parts.append(f"on the {named(*support)}")
    share, kid = likeliest_class(footprints, cells, tuple(c for c in ON_CLASSES if c != asked))
    if asked in SUPPORT_CLASSES and share > SUPPORT_SHARE_MIN:
        parts.append(f"with {with_article(named(kid, object_sharing(footprints, xy, cell_size, kid, cells)))} on it")
    neighbour = nearest_neighbour(footprints, xy, cell_size, asked, cells, floor_only=True,
                                  leave_out=doubted_classes(question))
    if neighbour is not None and neighbour[0] <= NEXT_TO_M:
        parts.append(f"next to the {named(neighbour[1], neighbour[2])}")
    if support is None:
        parts.append(room_place(xy, cells))
    head = with_article(named(asked, cells))
    return Measurement(head + (" " + ", ".join(parts[:3]) if parts else ""), cells)


def asks_latest(question: str) -> bool:
    """Whether a question asks what the robot saw last ("what did you see last?", "what have you seen most
    recently?", "what was the last thing you saw?"), not when it last saw something ("when", "how long")."""
    words = question.lower()
    return bool(_LATEST.search(words)) and not re.search(r"\b(?:when|how long|what time)\b", words)


def asks_earliest(question: str) -> bool:
    """Whether a question asks what the robot saw first ("what did you see first?", "what was the first thing you
    saw?"), not when it first saw something, nor the first thing in a direction ("the first thing on my left")."""
    words = question.lower()
    return bool(_EARLIEST.search(words)) and not re.search(r"\b(?:when|how long|what time|left|right|front|behind"
                                                           r"|ahead)\b", words)


def measured_latest(question: AskedQuestion, footprints: torch.Tensor, xy: torch.Tensor, cell_size: torch.Tensor,
                    last_seen: Optional[torch.Tensor], first_seen: Optional[torch.Tensor] = None
                    ) -> Optional[Measurement]:
    """The answer to "what did you see last?" (no class named, from no situation): the :func:`room_inventory`'s
    objects whose columns were last seen within ``LATEST_WINDOW_S`` of the latest of them ("a bed and a lamp"),
    grounded on them, the latest first; to "what did you see first?" those first seen within it of the earliest
    (``first_seen``), the earliest first. None for another question or a map without times."""
    if question.situated or question.named:
        return None
    first = first_seen is not None and asks_earliest(question.text)
    if not first and (last_seen is None or not asks_latest(question.text)):
        return None
    sign = -1.0 if first else 1.0  # the earliest first seen is the latest of the negated times
    times = sign * (first_seen if first else last_seen).double()
    seen = [(float(times[cells].nan_to_num(nan=-math.inf).max()), cls, cells)
            for cls, objects in room_inventory(question, footprints, xy, cell_size) for cells in objects]
    seen = [s for s in seen if math.isfinite(s[0])]
    if not seen:
        return None
    newest = max(t for t, _, _ in seen)
    latest = sorted((s for s in seen if s[0] >= newest - LATEST_WINDOW_S), key=lambda s: -s[0])
    found = [(cls, [cells for _, c, cells in latest if c == cls]) for cls in dict.fromkeys(c for _, c, _ in latest)]
    return Measurement(inventory_words(found), [c for _, _, cells in latest for c in cells[:1]])


def asks_size(question: str) -> bool:
    """Whether a question asks a size, of the room or of an object ("how big", "what size", "dimensions")."""
    return bool(_ROOM_SIZE.search(question.lower()))


def asks_room_size(question: str) -> bool:
    """Whether a question asks how big the room is ("how big is the room?", "what are the dimensions of this
    space?", "how many square meters is it here?")."""
    return bool(_ROOM_SIZE.search(question.lower())) and mentions(question, *_ROOM_WORDS)


def room_sides(xy: torch.Tensor) -> tuple[float, float]:
    """The room's sides (m) as the map shows them: its columns' centres from wall to wall along x and y."""
    width, depth = (xy.double().max(0).values - xy.double().min(0).values).tolist()
    return width, depth


def measured_room_size(question: AskedQuestion, xy: torch.Tensor) -> Optional[Measurement]:
    """The answer to "how big is the room?" (no class named): "about 5 by 4 meters, 20 square meters" from the map's
    extent (:func:`room_sides`; a map of part of a room gives that part). None for another question."""
    if question.named or not asks_room_size(question.text):
        return None
    width, depth = room_sides(xy)
    return Measurement(f"about {round(width)} by {round(depth)} meters, {round(width * depth)} square meters")


def object_sides(xy: torch.Tensor, cell_size: torch.Tensor, cells: list[int]) -> tuple[float, float]:
    """An object's footprint sides (m), the longer first: its columns' extent along x and y (their centres' spread
    plus ``OBJECT_EDGE_SHARE`` of their mean edge: the end columns are only partly the object's)."""
    points = xy[cells].double()
    edge = OBJECT_EDGE_SHARE * float(cell_size[cells].double().mean())
    sides = (points.max(0).values - points.min(0).values + edge).tolist()
    return max(sides), min(sides)


def measured_object_size(question: AskedQuestion, attention: torch.Tensor, footprints: torch.Tensor,
                         xy: torch.Tensor, cell_size: torch.Tensor) -> Optional[Measurement]:
    """The answer to "how big is the bed?" (one class named, no comparison): "about 2.1 by 1.5 meters" — the
    footprint of the class's most-attended object (:func:`object_sides`), grounded on it. None for another question;
    :func:`not_seen` where the map shows no such object."""
    words = question.text.lower()
    if len(question.named or []) != 1 or not _ROOM_SIZE.search(words) or BIGGER.search(words) \
            or SMALLER.search(words):
        return None
    asked = question.named[0]
    cells = asked_object(asked, attention, footprints, xy, cell_size)
    if not cells:
        return not_seen(asked)
    longer, shorter = object_sides(xy, cell_size, cells)
    return Measurement(f"the {asked} is about {longer:.1f} by {shorter:.1f} meters", cells)


def asks_scene_caption(question: str) -> bool:
    """Whether a question asks for a description of the room ("describe the room", "give me an overview of this
    place", "what does it look like around here?"; a swapped pair of letters forgiven: "this scnee")."""
    return mentions(question, *_DESCRIBE_WORDS) and mentions(question, *_ROOM_WORDS)


def room_kind(classes: Collection[str]) -> str:
    """What kind of room holds ``classes``: of the kinds whose defining class is there (``ROOM_KIND_BY_CLASS``: a
    toilet makes a bathroom, a bed a bedroom, …), the one whose furniture (``sim.furnish.ROOM_KINDS``) leaves out
    the fewest of them; a 'studio' when even that one leaves out more than ``STUDIO_MIN_ODD - 1`` (a bed, a sofa
    and a toilet in one room); 'room' when no class tells."""
    from leovl_ros.sim.furnish import ROOM_KINDS

    present = set(classes)
    odd = {kind: len(present - set(ROOM_KINDS[kind][0]) - set(ROOM_KINDS[kind][1])) for cls, kind in ROOM_KIND_BY_CLASS
           if cls in present}
    if not odd:
        return "room"
    kind = min(odd, key=lambda k: (odd[k], [k for _, k in ROOM_KIND_BY_CLASS].index(k)))
    return "studio" if odd[kind] >= STUDIO_MIN_ODD else kind


def room_size_words(area_m2: float) -> str:
    """'small' / 'medium-sized' / 'large', at the generator's bounds (12 and 25 m²)."""
    return "small" if area_m2 < 12 else ("large" if area_m2 > 25 else "medium-sized")


_ROOM_KIND = re.compile(
    r"\b(?:what|which) (?:kind|type|sort) of (?:a )?(?:room|place|space)\b"
    r"|\b(?:what|which) room (?:is|are) (?:this|that|it|we|you)\b"
    r"|^\W*what(?: is|'s) (?:this|that|the|it) (?:room|place|space)\W*$"
    r"|\bis (?:this|it|that) (?:a|an|the) (?P<kind>bedroom|living room|lounge|office|study|bathroom|toilet|restroom"
    r"|studio|kitchen|dining room|hallway|garage|classroom|room)\b")
"""Asking what kind of room this is ("what kind of room is this?", "what is this place?", "is this a bedroom?")."""

KIND_WORDS = {"lounge": "living room", "study": "office", "toilet": "bathroom", "restroom": "bathroom"}
"""Other words for the kinds :func:`room_kind` names."""


def measured_room_kind(question: AskedQuestion, footprints: torch.Tensor, xy: torch.Tensor, cell_size: torch.Tensor
                       ) -> Optional[Measurement]:
    """The answer to "what kind of room is this?" / "is this a bedroom?": the :func:`room_kind` of the map's
    inventory, with the classes that tell it ("it looks like a bedroom: I have seen a bed and a nightstand"; "yes, …"
    / "no, …" to a kind asked), grounded on them — the answer the room description gives. None for another question
    (a class named: "is this a chair?"), an empty map or a map whose classes tell no kind."""
    found = _ROOM_KIND.search(question.text.lower())
    if found is None or question.named or question.situated:
        return None
    inventory = room_inventory(question, footprints, xy, cell_size)
    kind = room_kind([cls for cls, _ in inventory])
    if kind == "room":
        return None
    from leovl_ros.sim.furnish import ROOM_KINDS

    telling = [(cls, objects) for cls, objects in inventory if cls in ROOM_KINDS[kind][0]] or inventory[:3]
    text = f"it looks like {with_article(kind)}: I have seen {inventory_words(telling)}"
    asked = found["kind"]
    if asked is not None and asked != "room":
        text = f"{'yes' if KIND_WORDS.get(asked, asked) == kind else 'no'}, {text}"
    return Measurement(text, inventory_cells(footprints, telling))


def measured_scene_caption(question: AskedQuestion, footprints: torch.Tensor, xy: torch.Tensor,
                           cell_size: torch.Tensor) -> Optional[Measurement]:
    """The answer to "describe the room" (no class named, from no situation), in the training captions' form: its
    size and kind from the map's extent (its columns' centres: the walls' on a fused room; :func:`room_kind`), its
    six largest classes with their numbers and what one of the room's single objects stands on ("This is a
    medium-sized bedroom of about 4 by 5 meters with a bed, a desk, two chairs and a lamp. The lamp is on the
    desk."; the captions' door and window are not classes the map tells), grounded as the inventory. None for
    another question or an empty map."""
    if question.situated or question.named or not asks_scene_caption(question.text):
        return None
    found = room_inventory(question, footprints, xy, cell_size)
    if not found:
        return None
    width, depth = room_sides(xy)
    kind = f"{room_size_words(width * depth)} {room_kind([cls for cls, _ in found])}"
    sentences = [f"This is a {kind} of about {round(width)} by {round(depth)} meters with "
                 f"{inventory_words(found[:CAPTION_CLASSES])}."]
    single = {cls: objects[0] for cls, objects in found if len(objects) == 1}
    for cls, cells in single.items():
        support = support_of(footprints, xy, cell_size, cls, cells) if cls in ON_CLASSES else None
        if support is not None and support[0] in single:
            sentences.append(f"The {cls} is on the {support[0]}.")
            break
    return Measurement(" ".join(sentences), inventory_cells(footprints, found))


_STATES = (r"(?P<state>on|off|open|opened|closed|shut|locked|unlocked|broken|working|clean|dirty|tidy|messy|untidy"
           r"|made|unmade|occupied|free|empty|full|plugged in|unplugged|lit|running|wet|dry|hot|cold|new|old"
           r"|comfortable)(?: or (?:on|off|open|closed|not))?")
_STATE = re.compile(r"^\W*(?:is|are) (?:the |a |an |my |your |this |that )?(?P<thing>[a-z' ]+?) "
                    rf"(?:(?:turned|switched|left|still) )?{_STATES}\W*$"
                    rf"|^\W*is it {_STATES.replace('state', 'here_state')} (?:here|in here|in (?:the|this) room)\W*$")
"""A yes/no question about a state the map cannot hold ("is the lamp on?", "is the door open?", "is the room tidy?",
"is it clean here?")."""

STATE_UNKNOWN = "I cannot tell whether {thing} is {state}: my map holds what things are, their colour, size and place"
"""The answer to a question about such a state."""


def measured_state(question: AskedQuestion, attention: torch.Tensor, footprints: torch.Tensor, xy: torch.Tensor,
                   cell_size: torch.Tensor) -> Optional[Measurement]:
    """The answer to "is the lamp on?", "is the door open?", "is the room tidy?": that the map cannot tell
    (:data:`STATE_UNKNOWN`), grounded on the object where the map shows it — the model, which never saw such a
    question, said "yes" or "no" at random. None for another question (no such state word at its end; neither a class
    nor the room named)."""
    found = _STATE.match(question.text.lower().strip())
    if found is None:
        return None
    if found["here_state"]:
        return Measurement(STATE_UNKNOWN.format(thing="the room", state=found["here_state"]))
    thing, state = found["thing"], found["state"]
    if len(question.named) == 1 and [c for c in classes_named(thing) if c in CLASSES] == question.named:
        asked = question.named[0]  # "the lamp", "the red lamp", "the television": one object of one class
        return Measurement(STATE_UNKNOWN.format(thing=f"the {asked}", state=state),
                           asked_object(asked, attention, footprints, xy, cell_size))
    other = classes_named(thing)  # a door or a window: the words know them, the map's classes do not
    if not question.named and len(other) == 1:
        return Measurement(STATE_UNKNOWN.format(thing=f"the {other[0]}", state=state))
    if not question.named and mentions(thing, *_ROOM_WORDS):
        return Measurement(STATE_UNKNOWN.format(thing="the room", state=state))
    return None


SEVERAL_COUNT_WORDS = frozenset({"how", "many", "and", "or", "the", "a", "are", "there", "is", "in", "this", "room",
                                  "here", "do", "you", "see", "can", "i", "find", "have", "of", "both", "each"})
SEVERAL_COLOUR_WORDS = frozenset({"what", "which", "colour", "color", "colours", "colors", "is", "are", "the", "and",
                                   "of", "a", "tell", "me", "both", "each", "s"})
"""The only words besides the classes of "how many lamps and chairs are there?" / "what colours are the bed and the
chair?" (:func:`measured_several`): anything else (on, near, left, …) makes another question."""


def several_classes(question: AskedQuestion, allowed: frozenset[str]) -> bool:
    """Whether a question names two or more classes and, besides them, only ``allowed`` words."""
    if len(question.named) < 2:
        return False
    return all(w in allowed for w in words_besides_classes(question.text.lower())[1])


def measured_several(question: AskedQuestion, attention: torch.Tensor, footprints: torch.Tensor,
                     colour_probs: Optional[torch.Tensor], xy: torch.Tensor, cell_size: torch.Tensor
                     ) -> Optional[Measurement]:
    """The answer to a count or colour question about several classes at once, which the model answers with one
    word: "how many lamps and chairs are there?" → "two lamps and one chair" (each class's objects as the room's
    inventory counts them; "no sofas" where it holds none), "what colours are the bed and the chair?" → "the bed is
    gray and the chair is red" (each class's most-attended object, :func:`object_colour`; "I have not seen a sofa"
    for one the map shows nowhere or the absent gate judged absent), grounded on their objects. None for another
    question or asked from a situation."""
    if question.situated:
        return None
    if question.text.lower().lstrip(" \t\"'").startswith("how many") and several_classes(question,
                                                                                           SEVERAL_COUNT_WORDS):
        found = dict(room_inventory(question, footprints, xy, cell_size))
        parts = [f"{count_word(len(found[cls]))} {cls if len(found[cls]) == 1 else plural(cls)}" if cls in found
                 else f"no {plural(cls)}" for cls in question.named]
        cells = [c for cls in question.named if cls in found for c in inventory_cells(footprints, [(cls, found[cls])])]
        return Measurement(f"{', '.join(parts[:-1])} and {parts[-1]}", cells)
    if colour_probs is not None and COLOUR_WORD.search(question.text.lower()) \
            and several_classes(question, SEVERAL_COLOUR_WORDS):
        parts, cells = [], []
        absent = min(question.named, key=lambda c: question.presence.get(c, 1.0)) if question.absent else None
        for cls in question.named:
            obj = [] if cls == absent else asked_object(cls, attention, footprints, xy, cell_size)
            parts.append(f"the {cls} is {object_colour(colour_probs, footprints, cls, obj)}" if obj
                         else not_seen(cls).text)
            cells += obj[:1]
        return Measurement(f"{', '.join(parts[:-1])} and {parts[-1]}", cells)
    return None


_SAME_COLOUR = re.compile(r"\b(?:same colou?rs?|different colou?rs?|colou?rs? (?:match|differ))\b")
SAME_COLOUR_WORDS = frozenset({"are", "is", "were", "the", "and", "same", "different", "colour", "color", "colours",
                               "colors", "match", "differ", "as", "have", "has", "do", "does", "all", "both", "they",
                               "their", "of", "a", "in", "s", "my", "these", "those"})
"""The only words besides the classes of "are the lamps the same colour?" / "is the bed the same colour as the
pillow?" (:func:`measured_same_colour`): anything else (next to, on my left, …) makes another question."""


def measured_same_colour(question: AskedQuestion, attention: torch.Tensor, footprints: torch.Tensor,
                         colour_probs: Optional[torch.Tensor], xy: torch.Tensor, cell_size: torch.Tensor
                         ) -> Optional[Measurement]:
    """Whether things share a colour, which the model answers with a colour: "is the bed the same colour as the
    pillow?" → "no: the bed is gray and the pillow is blue" (each class's asked object, :func:`object_colour`; "I have
    not seen a sofa" for a class the inventory leaves out);
    "are the lamps the same colour?" → "yes, both lamps are gray" (every object of the class the inventory counts;
    "I have seen only one lamp" for one); "… different colours?" the other way round. Grounded on the objects. None
    for another question, asked from a situation, or without colour heads."""
    words = question.text.lower()
    if question.situated or colour_probs is None or not question.named or not _SAME_COLOUR.search(words) \
            or not all(w in SAME_COLOUR_WORDS for w in words_besides_classes(words)[1]):
        return None
    different = "differ" in words
    inventory = dict(room_inventory(question, footprints, xy, cell_size))
    missing = next((cls for cls in question.named if cls not in inventory), None)
    if missing is not None:  # the map shows none, or the presence head doubts the ones it shows
        return not_seen(missing)
    if len(question.named) >= 2:
        objects = [(cls, asked_object(cls, attention, footprints, xy, cell_size)) for cls in question.named]
        colours = [object_colour(colour_probs, footprints, cls, obj) for cls, obj in objects]
        parts = [f"the {cls} is {colour}" for (cls, _), colour in zip(objects, colours)]
        details = f"{', '.join(parts[:-1])} and {parts[-1]}"
        cells = [obj[0] for _, obj in objects]
    else:
        cls = question.named[0]
        found = inventory[cls]
        if len(found) == 1:
            return Measurement(f"I have seen only one {cls}: it is "
                               f"{object_colour(colour_probs, footprints, cls, found[0])}", found[0][:1])
        colours = [object_colour(colour_probs, footprints, cls, obj) for obj in found]
        counted = Counter(colours).most_common()
        details = " and ".join(f"{count_word(n) if n > 1 else 'one'} {'are' if n > 1 else 'is'} {colour}"
                               for colour, n in counted)
        cls_words = f"{'both' if len(found) == 2 else f'all {count_word(len(found))}'} {plural(cls)}"
        if len(counted) == 1:
            details = f"{cls_words} are {colours[0]}"
        cells = [most_probable_first(footprints, cls, obj)[0] for obj in found]
    same = len(set(colours)) == 1
    if same and len(question.named) >= 2:
        details = f"{'both' if len(colours) == 2 else 'all'} are {colours[0]}"
    return Measurement(f"{'yes' if same != different else 'no'}{', ' if same else ': '}{details}", cells)


SIDE_OF = re.compile(r"\b(?:(?P<either>left or (?:to )?(?:the )?right|right or (?:to )?(?:the )?left)"
                     r"|(?P<side>left|right)) (?:side )?of\b")
"""One object's side of another ("is the lamp left or right of the bed?", "is the tv to the right of the chair?")."""


def measured_side_of(question: AskedQuestion, attention: torch.Tensor, footprints: torch.Tensor, xy: torch.Tensor,
                     cell_size: torch.Tensor) -> Optional[Measurement]:
    """Which side of the second named object the first lies on, seen from the asker's pose (the robot's own where
    the question names no viewpoint: ``agent.robot_view``): "left" or "right", or yes / no to "is the tv to the right
    of the chair?" — the objects' bearings (:func:`~leovl_ros.sim.spatial.bearing`) compared. The model was trained
    on this question only from a named place ("seen from the door, …"). None without a pose, two named classes or
    the words; "I have not seen a …" for an object the map shows nowhere."""
    found = SIDE_OF.search(question.text.lower())
    if question.pose is None or found is None or len(question.named) not in (1, 2):
        return None
    objects = [asked_object(cls, attention, footprints, xy, cell_size) for cls in question.named]
    missing = next((cls for cls, obj in zip(question.named, objects) if not obj), None)
    if missing is not None:
        return not_seen(missing)
    position, yaw = (question.pose[0], question.pose[1]), question.pose[2]
    if len(question.named) == 1:
        return object_to_the_side(question, footprints, xy, cell_size, objects[0], found["side"], position, yaw)
    first, second = (bearing(position, yaw, object_centre(footprints[:, CLASSES.index(cls)], xy, obj).numpy())
                     for cls, obj in zip(question.named, objects))
    side = "left" if math.remainder(first - second, 2 * math.pi) > 0.0 else "right"
    text = side if found["either"] else (YES if side == found["side"] else NO)
    return Measurement(text, [objects[0][0], objects[1][0]])


SIDE_NEIGHBOUR_M = 2.0
""""What is to the left of the bed?" names the nearest object within this (m, column to column) of the bed that lies
to that side of it (:func:`object_to_the_side`)."""
SIDE_NEIGHBOUR_MIN_DEG = 5.0
"""… and whose bearing from the asker differs from the bed's by at least this: one seen right behind it is neither."""


def object_to_the_side(question: AskedQuestion, footprints: torch.Tensor, xy: torch.Tensor, cell_size: torch.Tensor,
                       cells: list[int], side: Optional[str], position: tuple[float, float], yaw: float
                       ) -> Optional[Measurement]:
    """The answer to "what is to the left of the bed?" (the named object's ``cells``) seen from ``position`` / ``yaw``:
    of the inventory's other objects not sharing its columns, the nearest (column to column, within
    ``SIDE_NEIGHBOUR_M``) whose bearing is at least ``SIDE_NEIGHBOUR_MIN_DEG`` to that ``side`` of its bearing;
    "nothing that I have seen" where none is. None for "left or right of" with one class named."""
    if side is None or not re.match(r"\W*(?:what|which)\b", question.text.lower()):
        return None
    asked = question.named[0]
    centre = bearing(position, yaw, object_centre(footprints[:, CLASSES.index(asked)], xy, cells).numpy())
    sign = 1.0 if side == "left" else -1.0
    candidates = []
    for cls, objects in room_inventory(question, footprints, xy, cell_size):
        for other in objects:
            if set(other) & set(cells):  # the object itself, or one standing on it
                continue
            off = math.remainder(bearing(position, yaw, object_centre(footprints[:, CLASSES.index(cls)], xy, other)
                                         .numpy()) - centre, 2 * math.pi)
            gap = float(torch.cdist(xy[other].double(), xy[cells].double()).min())
            if sign * off >= math.radians(SIDE_NEIGHBOUR_MIN_DEG) and gap <= SIDE_NEIGHBOUR_M:
                candidates.append((gap, cls, other))
    if not candidates:
        return Measurement(f"nothing that I have seen is {side} of the {asked}", cells[:1])
    _, cls, other = min(candidates, key=lambda c: c[0])
    return Measurement(cls, most_probable_first(footprints, cls, other))


AFFORDANCES: dict[str, tuple[str, ...]] = {
    "sit": ("chair", "sofa", "stool", "bed"), "sleep": ("bed", "sofa"), "lie": ("bed", "sofa"),
    "rest": ("sofa", "bed", "chair"), "put": ("table", "desk", "nightstand", "shelf", "cabinet"),
    "place": ("table", "desk", "nightstand", "shelf", "cabinet"), "store": ("cabinet", "shelf", "box"),
    "work": ("desk",), "watch": ("tv", "monitor"), "throw": ("trash can",), "read": ("lamp", "desk")}
"""What a person may want to do and the classes that afford it, the likeliest first ("where can I sit?")."""
_AFFORDANCE_PREPOSITION = {"store": "in", "work": "at", "watch": "", "throw": "in", "read": "by"}
"""How an answer joins the action to the object ("sit on the chair", "work at the desk"); "on" for the rest."""
_AFFORDANCE = re.compile(
    r"\b(?:where|what|which|is there (?:anything|something|somewhere|a place|anywhere)|somewhere|anything|something"
    r"|i(?: want| would like| need|'d like) to)\b.*(?<!this )(?<!that )(?<!the )(?<!a )"
    r"\b(?P<verb>sit|sleep|lie|rest|put|place|store|work|watch|throw|read)\b")
"""A question for where to do something ("where can I sit?", "is there a place to sleep?"); a verb, not a noun
after an article ("what is this place?" asks what the room is)."""


def measured_affordance(question: AskedQuestion, footprints: torch.Tensor, xy: torch.Tensor, cell_size: torch.Tensor
                        ) -> Optional[Measurement]:
    """The answer to "where can I sit?" / "is there anything I could sit on?" / "I want to sleep" (no class named,
    from no situation): the map's objects of the classes that afford it (:data:`AFFORDANCES`), the likeliest first,
    the first placed as "where is …?" places it ("you could sit on the chair, next to the desk, or the sofa"),
    grounded on it; "I have not seen anything to sit on" where the map holds none. None for another question."""
    if question.situated or question.named:
        return None
    found = _AFFORDANCE.search(question.text.lower())
    if found is None:
        return None
    verb = found["verb"]
    preposition = _AFFORDANCE_PREPOSITION.get(verb, "on")
    inventory = dict(room_inventory(question, footprints, xy, cell_size))
    present = [cls for cls in AFFORDANCES[verb] if cls in inventory]
    if not present:
        return Measurement(f"I have not seen anything to {verb} {preposition}".rstrip())
    first = most_probable_first(footprints, present[0], inventory[present[0]][0])
    place = object_place(footprints, xy, cell_size, present[0], first, doubted_classes(question))
    names = [f"the {present[0]}" + (f" ({place})" if place else "")] + [f"the {cls}" for cls in present[1:]]
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
    action = {"throw": "throw things away", "put": "put things", "place": "place things", "store": "store things"}
    return Measurement(f"you could {action.get(verb, verb)} {preposition} {listed}".replace("  ", " "), first)


_THINGS = r"(?:things?|objects?|items?|stuff)"
_THINGS_PLURAL = r"(?:things|objects|items|stuff)"
"""Several things: "name the green object" asks which one it is (a class question), "name the green objects" for
the list."""
_COLOUR_HERE = r"(?: (?:are there|is there|do you see|can you see|have you seen|did you see))?" \
               r"(?: here| in here| in (?:the|this) room| around)?\W*$"
_WHAT_IS_COLOUR = re.compile(rf"^\W*(?:what|which)(?: {_THINGS})?(?:'s| is| are)? (?P<colour>[a-z]+){_COLOUR_HERE}"
                             rf"|^\W*(?:what|which|name the|list the) (?P<colour2>[a-z]+) {_THINGS_PLURAL}"
                             rf"{_COLOUR_HERE}"
                             rf"|^\W*(?:is (?:there )?anything|(?:do|can|did) you see (?:any|anything)"
                             rf"|(?:are|were) there any) (?P<colour3>[a-z]+)(?: {_THINGS_PLURAL})?{_COLOUR_HERE}")
"""A question for the things of one colour ("what is blue?", "which things are red here?", "what objects are red?",
"what red things are there?", "is there anything green?", "do you see any red things?")."""
_HOW_MANY_COLOUR = re.compile(rf"^\W*how many (?:{_THINGS_PLURAL} (?:are |is )?(?P<colour>[a-z]+)"
                              rf"|(?P<colour2>[a-z]+) {_THINGS_PLURAL}){_COLOUR_HERE}")
"""Counting the things of one colour ("how many things are red?", "how many blue objects are there?")."""


def measured_colour_objects(question: AskedQuestion, footprints: torch.Tensor, colour_probs: Optional[torch.Tensor],
                            xy: torch.Tensor, cell_size: torch.Tensor) -> Optional[Measurement]:
    """The answer to "what is blue?" (a colour and nothing else, no class named): the :func:`room_inventory`'s
    objects whose colour (:func:`object_colour`) is it ("a trash can and two pillows"), grounded on them, or "I have
    not seen anything blue"; to "how many things are blue?" their number first ("three: a trash can and two
    pillows"), to "is there anything blue?" yes or no first; the model answered the colour back. None for another
    question or without colour heads."""
    words = question.text.lower().strip()
    found = _WHAT_IS_COLOUR.match(words) or _HOW_MANY_COLOUR.match(words)
    if found is None or question.named or question.situated or colour_probs is None:
        return None
    said = next(word for word in found.groups() if word)
    colour = colour_named(said)
    if colour is None:
        return None
    hits = [(cls, kept) for cls, objects in room_inventory(question, footprints, xy, cell_size)
            if (kept := [o for o in objects if object_colour(colour_probs, footprints, cls, o) == colour])]
    counting, yes_no = found.re is _HOW_MANY_COLOUR, found.lastgroup == "colour3"
    if not hits:
        return Measurement(f"{'zero: ' if counting else 'no, ' if yes_no else ''}I have not seen anything {said}")
    text = inventory_words(hits)
    if counting or yes_no:
        text = f"{count_word(sum(len(objects) for _, objects in hits)) if counting else 'yes'}: {text}"
    return Measurement(text, inventory_cells(footprints, hits))


def answer_by_words(text: str, question: AskedQuestion, attention: torch.Tensor, footprints: torch.Tensor,
                    colour_probs: Optional[torch.Tensor], last_seen: Optional[torch.Tensor], xy: torch.Tensor,
                    cell_size: torch.Tensor, first_seen: Optional[torch.Tensor] = None) -> Optional[Measurement]:
    """The map's answer to a question read by its words (module docstring), whatever the model said (``text``; a
    "there is no chair" of the model's stays: the location needs the object); None for every other question."""
    colour_probs = None if colour_probs is None else colour_probs.float().cpu()
    return (measured_help(question, footprints, xy, cell_size)
            or measured_asker_place(question)
            or measured_colour_check(question, attention, footprints, colour_probs, xy, cell_size)
            or measured_state(question, attention, footprints, xy, cell_size)
            or measured_on_support(question, footprints, colour_probs, xy, cell_size)
            or measured_several(question, attention, footprints, colour_probs, xy, cell_size)
            or measured_same_colour(question, attention, footprints, colour_probs, xy, cell_size)
            or measured_side_of(question, attention, footprints, xy, cell_size)
            or measured_affordance(question, footprints, xy, cell_size)
            or measured_colour_objects(question, footprints, colour_probs, xy, cell_size)
            or measured_route(question, attention, footprints, xy, cell_size)
            or measured_closer(question, attention, footprints, xy, cell_size)
            or measured_which_one(question, attention, footprints, xy, cell_size)
            or measured_inventory(question, footprints, xy, cell_size)
            or measured_scene_caption(question, footprints, xy, cell_size)
            or measured_room_kind(question, footprints, xy, cell_size)
            or measured_room_size(question, xy)
            or measured_object_size(question, attention, footprints, xy, cell_size)
            or measured_latest(question, footprints, xy, cell_size, last_seen, first_seen)
            or measured_object_caption(question, attention, footprints, colour_probs, xy, cell_size)
            or (None if says_absent(text) else measured_location(question, attention, footprints, xy, cell_size)))
