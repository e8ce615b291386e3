"""Questions read by their words, answered from hand-made maps (``leovl_ros.model.room_questions``): where, what is
there, what was seen last, room and object descriptions, sizes, which is closer; and that no question the
evaluations score is read as one of them."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
from map_fixtures import furnished_map, measured_text

from leovl_ros.model.measure import OPENING_UNKNOWN, AskedQuestion, measured_answer, measured_relation_object
from leovl_ros.model.room_questions import (
    ASKER_PLACE_ANSWER,
    ASKER_VIEWPOINT_ANSWER,
    STATE_UNKNOWN,
    DistanceComparison,
    asks_earliest,
    asks_help,
    asks_inventory,
    asks_latest,
    asks_location,
    asks_object_caption,
    asks_room_size,
    asks_scene_caption,
    asks_whereabouts,
    distance_comparison,
    measured_affordance,
    measured_asker_place,
    measured_closer,
    measured_colour,
    measured_colour_check,
    measured_colour_objects,
    measured_help,
    measured_inventory,
    measured_latest,
    measured_location,
    measured_object_caption,
    measured_object_size,
    measured_on_support,
    measured_room_kind,
    measured_room_size,
    measured_same_colour,
    measured_scene_caption,
    measured_several,
    measured_side_of,
    measured_state,
    measured_whereabouts,
    measured_which_one,
    places_words,
    room_kind,
)
from leovl_ros.model.voxel_questions import (
    asks_first_seen,
    asks_height,
    asks_taller,
    measured_height,
    measured_taller,
    measured_tallest,
    measured_which_size,
    vertical_extent,
    which_size_asked,
)
from leovl_ros.sim.scene import CLASSES, COLOURS


def test_distance_comparisons_answer_with_the_candidate_nearer_or_farther_from_the_reference():
    # a bed; a desk 2.4 m from it, a stool 0.9 m from it, a lamp on the desk
    room = furnished_map([("bed", [(0.0, 0.0), (0.3, 0.0)]), ("desk", [(2.7, 0.0), (3.0, 0.0)]), ("lamp", [(3.0, 0.0)]),
                          ("stool", [(0.3, 0.9)])])
    attention = torch.ones(len(room.xy))

    def answer(question: str, situated: bool = False) -> object:
        measured = measured_closer(AskedQuestion(question, [], situated=situated), attention, room.footprints,
                                   room.xy, room.cell_size)
        return None if measured is None else measured.text

    assert answer("which is closer to the bed, the desk or the stool?") == "stool"
    assert answer("Which one is nearer to the bed: the stool or the desk?") == "stool"
    assert answer("which is farther from the bed, the desk or the stool?") == "desk"
    assert answer("what's further away from the bed, the stool or the desk?") == "desk"
    assert answer("is the desk closer to the bed than the stool?") == "no"
    assert answer("Is the desk farther from the bed than the stool?") == "yes"
    assert answer("which is closer to the lamp, the stool or the bed?") == "bed"  # the lamp stands on the desk
    assert answer("which is closer, the desk or the stool?") is None  # no reference: nothing to compare against
    assert answer("which is closer to the bed, the desk or the stool?", situated=True) is None
    assert answer("which is closer to the bed, the desk or the sofa?") is None  # the map shows no sofa
    # one object's gaps to two others: the subject named before the comparative is the reference
    assert answer("is the bed closer to the desk or the stool?") == "stool"
    assert answer("Is the bed nearer to the desk or to the stool") == "stool"
    assert answer("is the bed farther from the stool or from the desk?") == "desk"
    assert answer("is the bed nearer to the stool than to the desk?") == "yes"
    assert answer("is the bed further from the stool than from the desk?") == "no"
    assert answer("of the desk and the stool, which is closer to the bed?") == "stool"  # "which": the "to" names it
    assert distance_comparison(AskedQuestion("is the desk closer to the bed than the stool?")) == \
        DistanceComparison("bed", ("desk", "stool"), closer=True, yes_no=True)
    assert distance_comparison(AskedQuestion("is the chair closer to the bed or the desk?")) == \
        DistanceComparison("chair", ("bed", "desk"), closer=True, yes_no=False)
    assert distance_comparison(AskedQuestion("which is nearer to the bed than to the desk, the chair?")) is None
    assert distance_comparison(AskedQuestion("is the chair closer to the bed or the sofa or the desk?")) is None
    # a door or a window: the map cannot place it, and says so (the model named an object of neither)
    window = OPENING_UNKNOWN.format(opening="window")
    assert answer("is the bed closer to the desk or to the window?") == window
    assert answer("which is closer to the bed, the window or the door?") == window
    assert distance_comparison(AskedQuestion("is the bed closer to the door or the desk?")) == \
        DistanceComparison("bed", ("door", "desk"), closer=True, yes_no=False)


def test_heights_come_from_the_voxels_of_the_objects_class():
    # a desk (two columns) with a lamp on it, a 0.3 m bed far away; voxel heights and class probabilities per column
    room = furnished_map([("desk", [(0.0, 0.0), (0.3, 0.0)]), ("lamp", [(0.3, 0.0)]), ("bed", [(0.0, 3.0)])])
    column = {0: "desk", 1: "desk+lamp", 2: "bed"}
    z = torch.arange(0.1, 2.5, 0.05)

    def voxels(cells: list[int], cls: int) -> tuple[torch.Tensor, torch.Tensor]:
        heights, probs = [], []
        for cell in cells:  # the desk's voxels up to 0.75 m, the lamp's 0.75–1.2 m on it, a wall to 2.4 m above
            lamp_column = column[cell] == "desk+lamp"
            for h in z.tolist():
                cls_here = ("bed" if h < 0.3 else "wall") if column[cell] == "bed" else \
                    "desk" if h < 0.75 else ("lamp" if lamp_column and h < 1.2 else "wall")
                heights.append(h)
                probs.append(0.9 if CLASSES[cls] == cls_here else (0.02 if cls_here == "wall" else 0.05))
        return torch.tensor(probs), torch.tensor(heights)

    def height(question: str) -> object:
        measured = measured_height(AskedQuestion(question), room.footprints, room.xy, room.cell_size, voxels, 0.05)
        return None if measured is None else (measured.text, sorted(measured.cells))

    assert height("how tall is the desk?") == ("the desk is about 0.7 meters tall", [0, 1])
    assert height("How high is the lamp?") == ("the lamp is about 0.5 meters tall, its top 1.2 meters above the floor",
                                               [1])
    assert height("what is the height of the lamp on the desk?")[0].startswith("the lamp is about 0.5")
    assert height("how tall is the sofa?") == ("I have not seen a sofa", [])  # the map shows none
    assert height("how big is the desk?") is None  # its footprint: measured_object_size
    assert height("which is the tallest thing?") is None  # no class named: the model's question type
    assert height("how tall is the desk?") == height("how tall is the desk?")
    # a class that never stands on another is measured from the floor, whatever voxels the camera missed below it
    assert vertical_extent("bed", torch.tensor([0.9, 0.9]), torch.tensor([0.4, 0.5]), 0.1) == \
        pytest.approx((0.0, 0.545))
    assert vertical_extent("lamp", torch.tensor([0.9, 0.9]), torch.tensor([0.8, 1.0]), 0.1) == \
        pytest.approx((0.75, 1.04))  # its top the 95th percentile of its voxels, then half a voxel
    assert vertical_extent("lamp", torch.zeros(0), torch.zeros(0), 0.1) is None
    assert asks_height(AskedQuestion("how tall is the lamp?")) and not asks_height(AskedQuestion("how tall am I?"))
    # height comparisons: the desk 0.7 m tall, the lamp 0.45 m tall on it, its top 1.2 m above the floor
    def compare(question: str) -> object:
        measured = measured_taller(AskedQuestion(question), room.footprints, room.xy, room.cell_size, voxels, 0.05)
        return None if measured is None else measured.text

    assert compare("which is taller, the desk or the lamp?") == "desk"
    assert compare("Is the lamp taller than the desk?") == "no"
    assert compare("which is shorter: the desk or the lamp") == "lamp"
    assert compare("is the lamp higher than the desk?") == "yes"  # its top, not its height
    assert compare("which is taller, the desk or the sofa?") == "I have not seen a sofa"
    assert compare("how tall is the desk?") is None
    # the room's tallest / shortest thing: each inventory object's own height (the lamp 0.45 m on a 0.7 m desk)
    def extreme(question: str, situated: bool = False) -> object:
        measured = measured_tallest(AskedQuestion(question, situated=situated), room.footprints, room.xy,
                                    room.cell_size, voxels, 0.05)
        return None if measured is None else measured.text

    assert extreme("What is the tallest thing in the room?") == "desk"
    assert extreme("which object reaches the highest?") == "desk"  # as the training questions mean it
    assert extreme("what's the shortest object here?") == "bed"
    assert extreme("what is the tallest thing on my left?", situated=True) is None  # the model's, at a pose
    assert extreme("how tall is the desk?") is None and extreme("is the desk the tallest?") is None


def test_which_of_one_class_is_bigger_is_measured_on_each_of_its_objects():
    # a desk with a 0.45 m lamp on it (top 1.2 m), a 1.5 m floor lamp next to the bed, a 0.75 m floor lamp far off
    room = furnished_map([("desk", [(0.0, 0.0), (0.3, 0.0)]), ("lamp", [(0.3, 0.0)]), ("bed", [(0.0, 3.0), (0.3, 3.0)]),
                          ("lamp", [(0.6, 3.0)]), ("lamp", [(3.0, 6.0)])])
    top = {1: ("desk", 0.75, "lamp", 1.2), 4: ("lamp", 1.5, None, 0.0), 5: ("lamp", 0.75, None, 0.0)}
    z = torch.arange(0.025, 2.4, 0.05)

    def voxels(cells: list[int], cls: int) -> tuple[torch.Tensor, torch.Tensor]:
        probs, heights = [], []
        for cell in cells:
            low, low_top, high, high_top = top.get(cell, ("desk" if cell == 0 else "bed", 0.75, None, 0.0))
            for h in z.tolist():
                here = low if h < low_top else high if high is not None and h < high_top else "wall"
                probs.append(0.9 if CLASSES[cls] == here else 0.02)
                heights.append(h)
        return torch.tensor(probs), torch.tensor(heights)

    def which(question: str, situated: bool = False) -> object:
        measured = measured_which_size(AskedQuestion(question, situated=situated), room.footprints, room.xy,
                                       room.cell_size, voxels, 0.05)
        return None if measured is None else (measured.text, measured.cells)

    assert which("which lamp is taller?") == ("the lamp next to the bed, about 1.4 meters tall", [4])
    assert which("Which of the lamps is the shortest?") == ("the lamp on the desk, about 0.4 meters tall", [1])
    assert which("which lamp is higher?")[0] == "the lamp next to the bed, its top 1.4 meters above the floor"
    assert which("what is the biggest lamp?")[0] == "the lamp next to the bed, about 0.2 by 0.2 meters, 1.4 meters tall"
    assert which("which lamp is the smallest?")[0].startswith("the lamp on the desk, ")
    assert which("which desk is bigger?") == ("I have seen one desk: it is near the bed", [0, 1])
    assert which("which sofa is bigger?") == ("I have not seen a sofa", [])
    for other in ("which is bigger, the lamp or the desk?", "is the lamp bigger than the desk?",
                  "which lamp is bigger than the desk?", "how big is the lamp?", "what is the biggest thing here?"):
        assert which(other) is None, other
    assert which("which lamp is taller?", situated=True) is None


def test_states_the_map_cannot_hold_are_said_to_be_unknown_not_guessed():
    room = furnished_map([("desk", [(0.0, 0.0), (0.3, 0.0)]), ("lamp", [(0.3, 0.0)]), ("bed", [(0.0, 3.0)])])
    attention = torch.ones(len(room.xy))

    def state(question: str) -> object:
        measured = measured_state(AskedQuestion(question), attention, room.footprints, room.xy, room.cell_size)
        return None if measured is None else (measured.text, measured.cells)

    assert state("is the lamp on?") == (STATE_UNKNOWN.format(thing="the lamp", state="on"), [1])
    assert state("Is the red lamp switched off") == (STATE_UNKNOWN.format(thing="the lamp", state="off"), [1])
    assert state("is the bed made?")[0] == STATE_UNKNOWN.format(thing="the bed", state="made")
    assert state("is the lamp on or off?")[0] == STATE_UNKNOWN.format(thing="the lamp", state="on")
    assert state("is the door open?") == (STATE_UNKNOWN.format(thing="the door", state="open"), [])  # no class
    assert state("is the room tidy?") == (STATE_UNKNOWN.format(thing="the room", state="tidy"), [])
    assert state("is it clean in here?") == (STATE_UNKNOWN.format(thing="the room", state="clean"), [])
    for other in ("is the lamp on the desk?", "what is on the desk?", "is the lamp next to the bed?",
                  "is the desk big?", "is the lamp and the bed on?", "is there a lamp?"):
        assert state(other) is None, other


def test_the_kind_of_room_is_the_room_descriptions_with_the_classes_that_tell_it():
    room = furnished_map([("bed", [(0.0, 0.0), (0.3, 0.0)]), ("nightstand", [(0.9, 0.0)]), ("lamp", [(0.9, 0.0)]),
                          ("chair", [(3.0, 3.0)])])

    def kind(question: str) -> object:
        measured = measured_room_kind(AskedQuestion(question), room.footprints, room.xy, room.cell_size)
        return None if measured is None else (measured.text, sorted(measured.cells))

    assert kind("what kind of room is this?") == ("it looks like a bedroom: I have seen a bed and a nightstand", [0, 2])
    assert kind("Which room are we in")[0].startswith("it looks like a bedroom")
    assert kind("how big is the room?") is None  # its size, not its kind
    assert kind("what room is this")[0] == "it looks like a bedroom: I have seen a bed and a nightstand"
    assert kind("is this a bedroom?")[0].startswith("yes, it looks like a bedroom")
    assert kind("Is this a kitchen?")[0].startswith("no, it looks like a bedroom")
    assert kind("is this a chair?") is None  # a class: the model's existence question
    assert kind("describe the room") is None
    assert kind("what is this place?")[0] == kind("What's the room")[0] == kind("what room is this")[0]
    assert kind("what is this place next to?") is None
    office = furnished_map([("desk", [(0.0, 0.0)]), ("monitor", [(0.0, 0.0)]), ("chair", [(0.6, 0.0)])])
    assert measured_room_kind(AskedQuestion("is this a study?"), office.footprints, office.xy, office.cell_size
                              ).text == "yes, it looks like an office: I have seen a desk, a chair and a monitor"


def test_counts_and_colours_of_several_classes_are_answered_for_each():
    # two chairs apart, a bed; colour heads: the bed gray, the chairs red
    room = furnished_map([("chair", [(0.0, 0.0)]), ("chair", [(3.0, 0.0)]), ("bed", [(0.0, 4.0), (0.3, 4.0)])])
    colours = torch.zeros((len(room.xy), len(COLOURS) + 1))
    colours[[0, 1], list(COLOURS).index("red")] = 1.0
    colours[[2, 3], list(COLOURS).index("gray")] = 1.0
    attention = torch.ones(len(room.xy))

    def several(question: str, situated: bool = False) -> object:
        measured = measured_several(AskedQuestion(question, situated=situated), attention, room.footprints, colours,
                                    room.xy, room.cell_size)
        return None if measured is None else measured.text

    assert several("how many chairs and beds are there?") == "two chairs and one bed"
    assert several("How many beds, sofas and chairs do you see?") == "one bed, no sofas and two chairs"
    assert several("what colour is the bed and the chair?") == "the bed is gray and the chair is red"
    assert several("what colours are the bed and the sofa?") == "the bed is gray and I have not seen a sofa"
    assert several("how many chairs are there?") is None  # one class: the model's counting question
    assert several("how many chairs are next to the bed?") is None  # a relation: another question
    assert several("what colour is the chair next to the bed?") is None
    assert several("how many chairs and beds are there?", situated=True) is None
    judged = AskedQuestion("what colour is the bed and the chair?", presence={"bed": 0.9, "chair": 0.01}, absent=True)
    assert measured_several(judged, attention, room.footprints, colours, room.xy, room.cell_size).text == \
        "the bed is gray and I have not seen a chair"  # the chair the absent gate judged absent
    # "what is red?": the objects of that colour
    def of_colour(question: str) -> object:
        measured = measured_colour_objects(AskedQuestion(question), room.footprints, colours, room.xy, room.cell_size)
        return None if measured is None else measured.text

    assert of_colour("what is red?") == "two chairs"
    assert of_colour("Which things are grey here?") == "a bed"
    assert of_colour("what is blue?") == "I have not seen anything blue"
    assert of_colour("what is that?") is None and of_colour("what is red on the bed?") is None
    assert of_colour("How many things are red?") == "two: two chairs"
    assert of_colour("how many blue objects are there?") == "zero: I have not seen anything blue"
    assert of_colour("what red things do you see?") == "two chairs"
    assert of_colour("what objects are red?") == of_colour("Which items are red here?") == "two chairs"
    assert of_colour("is there anything grey here?") == "yes: a bed"
    assert of_colour("is there anything blue?") == "no, I have not seen anything blue"
    assert of_colour("do you see any red things?") == "yes: two chairs"
    assert of_colour("Can you see anything grey?") == of_colour("are there any grey objects in the room?") == \
        "yes: a bed"
    assert of_colour("do you see any chairs?") is None and of_colour("are there any red chairs?") is None
    assert of_colour("how many things are there?") is None and of_colour("how many red chairs are there?") is None
    # "are the chairs the same colour?": every object of the class, or the named classes' objects
    def same(question: str, situated: bool = False) -> object:
        measured = measured_same_colour(AskedQuestion(question, situated=situated), attention, room.footprints,
                                        colours, room.xy, room.cell_size)
        return None if measured is None else measured.text

    assert same("Are the chairs the same color?") == "yes, both chairs are red"
    assert same("are the chairs different colours?") == "no, both chairs are red"
    assert same("is the bed the same colour as the chair?") == "no: the bed is gray and the chair is red"
    assert same("do the bed and the chair have different colors?") == "yes: the bed is gray and the chair is red"
    assert same("is the sofa the same colour as the bed?") == "I have not seen a sofa"
    colours[1] = 0.0
    colours[1, list(COLOURS).index("blue")] = 1.0
    assert same("are the chairs the same colour?") == "no: one is red and one is blue"
    assert same("are the beds the same colour?") == "I have seen only one bed: it is gray"
    assert same("is the chair next to the bed the same colour as the bed?") is None  # a relation: not just colours
    assert same("are the chairs the same colour?", situated=True) is None


def test_what_a_person_wants_to_do_is_answered_with_the_objects_that_afford_it():
    room = furnished_map([("chair", [(0.0, 0.0)]), ("desk", [(0.3, 0.0), (0.6, 0.0)]), ("bed", [(0.0, 4.0)])])

    def afford(question: str) -> object:
        measured = measured_affordance(AskedQuestion(question), room.footprints, room.xy, room.cell_size)
        return None if measured is None else (measured.text, measured.cells)

    assert afford("where can I sit?") == ("you could sit on the chair (next to the desk) or the bed", [0])
    assert afford("Is there anything I could sleep on?")[0] == "you could sleep on the bed (near the chair)"
    assert afford("I'd like to work")[0] == "you could work at the desk (next to the chair)"
    assert afford("where can I throw this away?") == ("I have not seen anything to throw in", [])
    assert afford("where is the bed?") is None  # a class named: where it is
    assert afford("what is on the desk?") is None
    assert afford("what is this place?") is None and afford("what is that work on the wall?") is None  # nouns
    assert afford("is there a place to sleep?")[0] == "you could sleep on the bed (near the chair)"


@pytest.mark.parametrize("question, location", [
    ("where is the chair?", True), ("Where's the bed", True), ("do you know where the bin is?", True),
    ("wehre can I find a lamp", True), ("Where is the sofa relative to me?", True),
    ("where and when did you last spot the lamp?", False),  # a last-seen question
    ("What does the lamp look like and where is it?", False),  # an object caption
    ("Which way should I go to get to the sofa?", False), ("is a sofa anywhere in the room?", False),
    ("what is next to the bed?", False),
    ("find the chair", True), ("Can you show me the red bed, please?", True), ("point to the lamp", True),
    ("find the object farthest from the chair", False), ("show me the way to the bed", False),  # a route
    ("list all the chairs", True), ("find every lamp", True), ("list the objects", False),  # that is the inventory
    ("list the chairs next to the bed", False),
    ("bed?", True), ("the red chair", True), ("lamp location", True), ("the position of the tv?", True),
    ("bed and chair", False), ("red?", False), ("describe the bed", False), ("bed size", False),
])
def test_location_questions_are_read_from_their_words(question, location):
    assert asks_location(question) is location


def test_where_an_object_is_from_what_it_stands_on_or_stands_beside():
    # a desk (two columns) with a lamp on it and a chair 0.6 m from its end; a table read on the desk's columns (one
    # object seen as two classes); a sofa 2.4 m beyond the chair; a bed far away
    room = furnished_map([("desk", [(0.0, 0.0), (0.3, 0.0)]), ("lamp", [(0.3, 0.0)]), ("table", [(0.0, 0.0)]),
                          ("chair", [(0.9, 0.0)]), ("sofa", [(3.3, 0.0)]), ("bed", [(0.0, 6.0)]),
                          ("plant", [(0.3, 6.0)])])
    room.footprints[5, CLASSES.index("plant")] = 0.3  # seen faintly: placed all the same
    attention = torch.ones(len(room.xy))

    def where(question: str, situated: bool = False) -> object:
        measured = measured_location(AskedQuestion(question, ["situated_direction"], situated=situated), attention,
                                     room.footprints, room.xy, room.cell_size)
        return None if measured is None else (measured.text, measured.cells)

    assert where("where is the lamp?") == ("the lamp is on the desk", [1])
    assert where("Where's the desk?") == ("the desk is next to the chair", [0, 1])  # not the lamp on it, not the table
    assert where("where can I find the chair?") == ("the chair is next to the desk", [2])  # a chair stands on no desk
    assert where("do you know where the sofa is?") == ("the sofa is near the chair", [3])  # 2.4 m: near, not next to
    doubted = AskedQuestion("Where's the desk?", ["situated_direction"], presence={"chair": 0.2, "desk": 0.9})
    assert measured_location(doubted, attention, room.footprints, room.xy, room.cell_size).text == \
        "the desk is near the sofa"  # a chair the model's presence doubts is no landmark
    no_desk = AskedQuestion("where is the lamp?", ["situated_direction"], presence={"desk": 0.1, "table": 0.9})
    assert measured_location(no_desk, attention, room.footprints, room.xy, room.cell_size).text == \
        "the lamp is next to the table"  # nor a support: no believed one under it, placed by its neighbour
    assert where("where is the lamp?", situated=True) is None  # asked from a pose: the direction from it answers
    assert where("where's the plant?") == ("the plant is next to the bed", [5])
    assert where("where are the chairs?") == ("I have seen one chair: it is next to the desk", [2])
    two = furnished_map([("lamp", [(0.0, 0.0)]), ("desk", [(0.0, 0.0), (0.3, 0.0)]), ("bed", [(0.0, 3.0)]),
                         ("lamp", [(0.3, 3.0)])])
    assert measured_location(AskedQuestion("where are the lamps?"), torch.ones(len(two.xy)), two.footprints, two.xy,
                             two.cell_size).text == "the two lamps are on the desk and next to the bed"
    assert places_words("chair", 2, ["next to the stool"] * 2) == "the two chairs are both next to the stool"
    assert places_words("chair", 3, ["next to the desk", "next to the bed", "next to the desk"]) == \
        "of the three chairs, two are next to the desk and one is next to the bed"
    assert places_words("lamp", 3, ["on the desk"] * 3) == "the three lamps are all on the desk"
    assert where("where is the toilet?") == ("I have not seen a toilet", [])  # the map shows none: no direction
    assert where("where am I?") is None  # no class named
    assert where("where is the door?") == (OPENING_UNKNOWN.format(opening="door"), [])  # no class the map holds
    assert where("what is the lamp standing on?") is None  # another question
    question = AskedQuestion("Where is the lamp?", ["situated_direction"])
    assert measured_text("behind", attention, room, question) == "the lamp is on the desk"  # whatever the types say
    assert measured_answer("behind", attention, room, question).cells == [1]  # grounded on the lamp
    assert measured_text("there is no lamp", attention, room, question) == "there is no lamp"  # the model's
    gate = AskedQuestion("Where is the lamp?", ["situated_direction"], absent=True)
    assert measured_text("there is no lamp", attention, room, gate) == "there is no lamp"  # the absent gate's
    for question in ("how far is the lamp from the desk?", "is the lamp next to the desk?",
                     "which is bigger, the lamp or the desk?", "what is next to the lamp?", "describe the lamp"):
        judged = AskedQuestion(question, ["distance", "spatial_relation", "size", "nearest"], absent=True)
        assert measured_answer("there is no lamp", attention, room, judged).text == "there is no lamp", question
    # about several classes, one judged absent: each answered on its own
    several = AskedQuestion("how many chairs and toilets are there?", ["counting"], absent=True)
    assert measured_text("zero", attention, room, several) == "one chair and no toilets"


def test_no_scored_question_asked_without_a_situation_is_read_as_a_location_or_inventory_question():
    """The location and inventory answers are for users' "where is X?" and "what do you see?": no question the
    evaluations score from no situation — 30
    scenes' generated questions in training and held-out wordings, the hand-worded, real and last-seen files — is
    read as one, so their scores stay the model's (situated "where is X relative to me?" questions carry a
    situation)."""
    import json

    import numpy as np

    from leovl_ros.agent.paths import REPO_ROOT
    from leovl_ros.sim.tasks import TaskConfig, generate_samples
    from leovl_ros.sim.world import generate_scene

    samples = [s for seed in range(30) for wording in ("seen", "unseen")
               for s in generate_samples(generate_scene(seed), np.random.default_rng(seed), TaskConfig(wording=wording))
               if s.situation is None]
    texts = [s.question for s in samples]
    # the room descriptions the evaluations score are the ones measured: every wording of them, typos included
    assert all(asks_scene_caption(s.question) for s in samples if s.task == "scene_caption")
    assert [s.question for s in samples if s.task != "scene_caption" and asks_scene_caption(s.question)
            and not AskedQuestion(s.question).named] == []
    assert all(asks_object_caption(AskedQuestion(s.question)) for s in samples if s.task == "object_caption")
    assert [s.question for s in samples if "caption" not in s.task and asks_object_caption(AskedQuestion(s.question))
            ] == []
    data = REPO_ROOT / "benchmarks" / "data"
    for name in ("handworded_questions.json", "real_questions.json"):
        texts += [item["question"] for item in json.loads((data / name).read_text()) if not item.get("situation")]
    patterns = json.loads((data / "handworded_last_seen.json").read_text())["patterns"]
    texts += [p.format(ref="the lamp") for p in patterns]
    assert len(texts) > 2000
    assert [t for t in texts if asks_location(t)] == []
    assert [t for t in texts if asks_room_size(t)] == []
    assert [s.question for s in samples if measured_object_size(AskedQuestion(s.question), torch.ones(1),
                                                                torch.ones((1, len(CLASSES))), torch.zeros((1, 2)),
                                                                torch.full((1,), 0.3)) is not None] == []
    assert [t for t in texts if asks_latest(t) and not AskedQuestion(t).named] == []
    assert [t for t in texts if distance_comparison(AskedQuestion(t))] == []
    assert [t for t in texts if asks_inventory(t) and not AskedQuestion(t).named] == []
    assert [t for t in texts if asks_height(AskedQuestion(t))] == []
    assert [t for t in texts if asks_first_seen(AskedQuestion(t)) or asks_earliest(t)] == []
    assert [t for t in texts if asks_taller(AskedQuestion(t))] == []
    assert [t for t in texts if which_size_asked(AskedQuestion(t))] == []
    assert [t for t in texts if measured_which_one(AskedQuestion(t), torch.ones(1), torch.ones((1, len(CLASSES))),
                                                   torch.zeros((1, 2)), torch.full((1,), 0.3)) is not None] == []
    assert [t for t in texts if measured_same_colour(AskedQuestion(t), torch.ones(1), torch.ones((1, len(CLASSES))),
                                                     torch.ones((1, len(COLOURS) + 1)), torch.zeros((1, 2)),
                                                     torch.full((1,), 0.3)) is not None] == []
    assert [t for t in texts if measured_colour_objects(AskedQuestion(t), torch.ones((1, len(CLASSES))),
                                                        torch.ones((1, len(COLOURS) + 1)), torch.zeros((1, 2)),
                                                        torch.full((1,), 0.3)) is not None] == []
    assert [t for t in texts if measured_affordance(AskedQuestion(t), torch.ones((1, len(CLASSES))),
                                                    torch.zeros((1, 2)), torch.full((1,), 0.3)) is not None] == []
    assert [t for t in texts if measured_several(AskedQuestion(t), torch.ones(1), torch.ones((1, len(CLASSES))),
                                                 torch.ones((1, len(COLOURS) + 1)), torch.zeros((1, 2)),
                                                 torch.full((1,), 0.3)) is not None] == []
    assert [t for t in texts if measured_room_kind(AskedQuestion(t), torch.ones((1, len(CLASSES))),
                                                   torch.zeros((1, 2)), torch.full((1,), 0.3)) is not None] == []
    assert [t for t in texts if measured_state(AskedQuestion(t), torch.ones(1), torch.ones((1, len(CLASSES))),
                                               torch.zeros((1, 2)), torch.full((1,), 0.3)) is not None] == []
    assert [t for t in texts if asks_help(t) or asks_whereabouts(t) or measured_asker_place(AskedQuestion(t))] == []


@pytest.mark.parametrize("question, caption", [
    ("Describe the room.", True), ("give a summary of this scnee.", True), ("What does this room look like?", True),
    ("what does it look like around here?", True), ("Can you give me an overview of this place?", True),
    ("Describe your surroundings.", True), ("Describe the bed.", False), ("what do you see?", False),
    ("where is the room's door?", False), ("what is the layout", False), ("Tell me about this room.", True),
    ("tell me all about this room", True), ("what do you know about this room?", True),
    ("describe what you saw", True), ("tell me about what you have seen", True),
])
def test_room_descriptions_are_read_from_their_words(question, caption):
    assert asks_scene_caption(question) is caption


@pytest.mark.parametrize("question, caption", [
    ("describe the red chair", True), ("tell me about the sofa", True), ("tell me everything about the bed", True),
    ("what do you know about the lamp?", True), ("tell me more about the desk", True),
    ("describe the colour of the bed in one word", False), ("what do you know?", False),
])
def test_object_descriptions_are_read_from_their_words(question, caption):
    assert asks_object_caption(AskedQuestion(question)) is caption


@pytest.mark.parametrize("classes, kind", [
    ({"bed", "nightstand", "lamp"}, "bedroom"), ({"toilet", "trash can", "cabinet"}, "bathroom"),
    ({"sofa", "table", "tv"}, "living room"), ({"desk", "chair", "monitor"}, "office"),
    ({"bed", "sofa", "toilet"}, "studio"),  # furniture no one kind holds
    ({"desk", "chair", "lamp"}, "office"), ({"chair", "lamp"}, "room"), (set(), "room"),
])
def test_the_room_kind_is_the_one_whose_furniture_fits(classes, kind):
    assert room_kind(classes) == kind


def test_the_room_description_gives_size_kind_classes_and_a_support():
    # columns from (0, 0) to (4.2, 3.0); a bed, a nightstand with a lamp on it, two chairs, a shelf by the far wall
    room = furnished_map([("shelf", [(4.2, 0.6)]), ("bed", [(0.3, 1.2), (0.6, 1.2), (0.3, 1.5)]),
                          ("nightstand", [(0.3, 2.4)]), ("lamp", [(0.3, 2.4)]), ("chair", [(3.0, 0.0)]),
                          ("chair", [(3.0, 3.0)])])

    def caption(question: str, situated: bool = False) -> object:
        measured = measured_scene_caption(AskedQuestion(question, [], situated=situated), room.footprints, room.xy,
                                          room.cell_size)
        return None if measured is None else measured.text

    assert caption("Describe the room.") == (
        "This is a small bedroom of about 4 by 3 meters with a bed, a shelf, two chairs, a nightstand and a lamp. The "
        "lamp is on the nightstand.")
    assert caption("describe the room", situated=True) is None  # asked from a situation: the model's
    assert caption("Describe the bed.") is None  # a class named: an object's description
    assert measured_text("this is a bathroom", torch.ones(len(room.xy)), room,
                         AskedQuestion("Give a summary of this scene.", ["scene_caption"])).startswith(
        "This is a small bedroom")


def test_an_object_description_gives_colour_support_what_is_on_it_a_neighbour_and_its_place():
    # columns from (0, 0) to (4.2, 3.0): a brown desk against the wall x = 0 with a white lamp on it, a red chair
    # beside it, an orange chair in the middle of the room, a bed in the far corner
    room = furnished_map([("desk", [(0.0, 1.2), (0.3, 1.2)]), ("lamp", [(0.3, 1.2)]), ("chair", [(0.9, 1.2)]),
                          ("chair", [(2.1, 1.5)]), ("bed", [(3.9, 2.7), (4.2, 2.7), (3.9, 3.0), (4.2, 3.0)]),
                          ("shelf", [(4.2, 0.0)])])
    colours = torch.zeros((len(room.xy), len(COLOURS) + 1))
    for cell, colour in enumerate(["brown", "white", "red", "orange", "gray", "gray", "gray", "gray", "black"]):
        colours[cell, list(COLOURS).index(colour)] = 1.0
    colours[1, list(COLOURS).index("brown")] = 0.4  # the lamp's column also shows the desk below it

    def caption(question: str, situated: bool = False) -> object:
        measured = measured_object_caption(AskedQuestion(question, [], situated=situated),
                                           torch.ones(len(room.xy)), room.footprints, colours, room.xy,
                                           room.cell_size)
        return None if measured is None else measured.text

    assert caption("Describe the desk.") == (
        "a brown desk with a white lamp on it, next to the red chair, against the wall")
    assert caption("Give a short description of the lamp.") == "a white lamp on the brown desk, next to the red chair"
    assert caption("what does the orange chair look like?") == "an orange chair in the middle of the room"
    assert caption("tell me about the bed") == "a gray bed in a corner of the room"
    assert caption("Describe the bed.", situated=True) is None  # asked from a situation: the model's
    assert caption("Describe the room.") is None  # no class: the room's description
    assert caption("what colour is the bed?") is None
    assert measured_object_caption(AskedQuestion("describe the toilet", []), torch.ones(len(room.xy)),
                                   room.footprints, colours, room.xy, room.cell_size).text == \
        "I have not seen a toilet"  # none on the map


def test_the_room_and_an_object_are_sized_from_the_map():
    # columns from (0, 0) to (4.2, 3.0); a bed of 3 × 2 columns (0.6 × 0.3 m between centres), a stool of one;
    # how long ago something was seen is no size
    room = furnished_map([("bed", [(0.0, 0.0), (0.3, 0.0), (0.6, 0.0), (0.0, 0.3), (0.3, 0.3), (0.6, 0.3)]),
                          ("stool", [(4.2, 3.0)])])
    room.cell_size = torch.full((len(room.xy),), 0.2)  # columns 0.2 m wide at 0.3 m: each side adds 0.1 m
    attention = torch.ones(len(room.xy))

    def size(question: str) -> object:
        asked = AskedQuestion(question, [])
        measured = measured_room_size(asked, room.xy) or measured_object_size(asked, attention, room.footprints,
                                                                              room.xy, room.cell_size)
        return None if measured is None else measured.text

    assert size("how big is the room?") == "about 4 by 3 meters, 13 square meters"
    assert size("What are the dimensions of this space?") == "about 4 by 3 meters, 13 square meters"
    assert size("how big is the bed?") == "the bed is about 0.7 by 0.4 meters"  # spread + half an edge
    assert size("what size is the stool?") == "the stool is about 0.1 by 0.1 meters"
    assert size("how big is the sofa?") == "I have not seen a sofa"  # the map shows none
    assert size("which is bigger, the bed or the stool?") is None  # a comparison: measured_size
    assert size("how big is it here?") is not None and size("how many chairs are there?") is None
    assert asks_room_size("how many square meters is this place?")
    assert not asks_room_size("how long ago did you see the room's door?")


@pytest.mark.parametrize("question, latest", [
    ("what did you see last?", True), ("What have you seen most recently?", True),
    ("what was the last thing you saw?", True), ("which objects did you see just now?", True),
    ("when did you last see the bed?", False), ("what do you see?", False), ("what is the last chair?", False),
    ("what do you see right now?", True), ("what are you looking at?", True), ("what's in view?", True),
    ("what did you just see?", True), ("what have you seen recently?", True), ("what can you see from here?", False),
    ("what is on my left right now?", False), ("what is the chair looking at?", False),
])
def test_what_was_seen_last_is_read_from_the_words(question, latest):
    assert asks_latest(question) is latest


def test_what_was_seen_last_lists_the_objects_last_seen_in_the_last_half_second():
    room = furnished_map([("chair", [(0.0, 0.0)]), ("chair", [(3.0, 0.0)]), ("bed", [(0.0, 4.0), (0.3, 4.0)]),
                          ("lamp", [(5.0, 0.0)])])
    last_seen = torch.tensor([10.0, 12.9, 13.0, 11.0, float("nan")], dtype=torch.float64)  # the lamp: never stamped

    def latest(question: str, times: object = last_seen) -> object:
        measured = measured_latest(AskedQuestion(question, []), room.footprints, room.xy, room.cell_size, times)
        return None if measured is None else (measured.text, measured.cells)

    assert latest("what did you see last?") == ("a bed and a chair", [2, 1])  # one column each, the latest first
    assert latest("what do you see?") is None
    assert latest("what did you see last?", None) is None  # a map without times
    assert inventory_of(room, "what did you see last?") is None  # not the whole room


@pytest.mark.parametrize("question, inventory", [
    ("what do you see?", True), ("What have you seen so far?", True), ("what's in this room?", True),
    ("Which objects are there?", True), ("list the furniture you saw", True), ("what can you see", True),
    ("what is the biggest thing here?", False), ("which object reaches the highest?", False),
    ("how many things are in the room?", True), ("How many objects have you seen?", True),
    ("how many things are on my left?", False), ("how many chairs are there?", False),
    ("what is in front of me?", False), ("describe the room", False),
    ("what is next to the bed?", False), ("what colour is the thing you see?", False),
    ("what is in the corner?", True), ("what's against the wall", True), ("what is on the floor?", True),
    ("what is in the middle of the room?", True), ("what is on the bed?", False),
    ("Name everything you saw", True), ("tell me what you see", True), ("What did you find?", True),
    ("what's here?", True), ("what's around you?", True), ("What is there in the room?", True),
    ("name the objects in the room", True), ("what can be found in this room?", True),
    ("tell me all about this room", False), ("tell me everything you know about the chair", False),
    ("what is there on the desk?", False), ("what is around the bed?", False),
])
def test_inventory_questions_are_read_from_their_words(question, inventory):
    assert asks_inventory(question) is inventory


def inventory_of(room: SimpleNamespace, question: str) -> object:
    """:func:`measured_inventory` of a question about ``room`` (None where it answers none)."""
    return measured_inventory(AskedQuestion(question, ["class"]), room.footprints, room.xy, room.cell_size)


@pytest.mark.parametrize("question, help_", [
    ("what can you do?", True), ("Help!", True), ("help me", True), ("What can I ask you?", True),
    ("what do you know how to do?", True), ("how do I use you?", True),
    ("what can you see?", False), ("help me find the chair", False), ("what do you see?", False),
    ("what can I put on the desk?", False),
])
def test_asking_what_the_robot_can_answer_is_read_from_its_words(question, help_):
    assert asks_help(question) is help_


def test_the_help_answer_says_what_the_map_holds_and_what_to_ask_about_it():
    room = furnished_map([("chair", [(0.0, 0.0)]), ("chair", [(3.0, 0.0)]), ("bed", [(0.0, 4.0), (0.3, 4.0)]),
                          ("lamp", [(5.0, 0.0)])])
    measured = measured_help(AskedQuestion("what can you do?", ["class"]), room.footprints, room.xy, room.cell_size)
    assert measured.text.startswith("I answer questions about what my camera has seen: so far a bed, two chairs and "
                                    "a lamp. Ask me, for example, 'how many chairs are there?', 'where is the bed?'")
    assert "'when did you last see the bed?'" in measured.text and measured.cells == [2, 0, 4]
    empty = furnished_map([])
    assert "not seen any object yet" in measured_help(AskedQuestion("help", ["class"]), empty.footprints, empty.xy,
                                                      empty.cell_size).text
    assert measured_help(AskedQuestion("what do you see?", ["class"]), room.footprints, room.xy,
                         room.cell_size) is None


@pytest.mark.parametrize("question, whereabouts", [
    ("where are you?", True), ("Where are you now?", True), ("what is your position?", True),
    ("where is the robot?", True), ("where am I?", False), ("where are you going?", False),
    ("where are the chairs?", False),
])
def test_asking_where_the_robot_is_is_read_from_its_words(question, whereabouts):
    assert asks_whereabouts(question) is whereabouts


def test_where_am_i_from_no_situation_says_how_to_ask_instead():
    for text in ("where am I?", "Where am I now?", "where are we?"):
        assert measured_asker_place(AskedQuestion(text)).text == ASKER_PLACE_ANSWER, text
    assert measured_asker_place(AskedQuestion("where am I?", situated=True)) is None  # the situation tells
    assert measured_asker_place(AskedQuestion("where am I going?")) is None
    assert measured_text("right", torch.ones(1), furnished_map([("bed", [(0.0, 0.0)])]),
                         AskedQuestion("where am i?", ["situated_direction"])) == ASKER_PLACE_ANSWER
    for text in ("what is on my left?", "What's closest to me?", "how far is the bed from me?", "what is behind me",
                 "how far am I from the bed?", "how many chairs are in front of me?", "is the lamp to my right?"):
        assert measured_asker_place(AskedQuestion(text)).text == ASKER_VIEWPOINT_ANSWER, text
        assert measured_asker_place(AskedQuestion(text, situated=True)) is None, text
    for text in ("tell me where the bed is", "show me the chair", "what is on your left?", "take me to the bed",
                 "what is in front of the bed?", "can you give me the colour of the sofa?"):
        assert measured_asker_place(AskedQuestion(text)) is None, text
    assert measured_text("nightstand", torch.ones(1), furnished_map([("bed", [(0.0, 0.0)])]),
                         AskedQuestion("what is to my left?", ["situated_object"])) == ASKER_VIEWPOINT_ANSWER


def test_the_robot_says_where_it_is_among_the_objects_and_what_it_faces():
    # a bed to the south (three columns), a desk far east, the camera at (1.5, 1.5) looking along +x or -y
    room = furnished_map([("bed", [(1.5, 0.6), (1.5, 0.3), (1.5, 0.0)]), ("desk", [(4.5, 1.5), (4.8, 1.5)]),
                          ("chair", [(0.0, 3.0)])])

    def camera(x: float, y: float, forward: tuple[float, float]) -> torch.Tensor:
        pose = torch.eye(4, dtype=torch.float64)
        pose[:2, 3] = torch.tensor((x, y))
        pose[:2, 2] = torch.tensor(forward)  # the optical z axis in the map
        pose[2, 2] = 0.0
        return pose

    def where(pose: torch.Tensor) -> tuple[str, list[int]]:
        measured = measured_whereabouts(pose, room.footprints, room.xy, room.cell_size)
        return measured.text, measured.cells

    assert where(camera(1.5, 1.3, (1.0, 0.0))) == ("I am in the middle of the room, next to the bed, facing the desk",
                                                   [0, 1, 2])
    assert where(camera(1.5, 1.3, (0.0, -1.0)))[0] == "I am in the middle of the room, next to the bed, facing it"
    assert where(camera(3.0, 3.0, (0.0, 1.0)))[0] == "I am against the wall"  # nothing near, nothing ahead
    assert where(camera(3.2, 0.6, (-1.0, 0.0)))[0] == "I am against the wall, near the desk, facing the bed"
    assert where(camera(0.2, 0.1, (0.0, 0.0)))[0] == "I am in a corner of the room, near the bed"  # looking down
    empty = furnished_map([])
    empty.xy = torch.tensor([[0.0, 0.0], [3.0, 3.0]])
    assert measured_whereabouts(camera(1.5, 1.5, (1.0, 0.0)), empty.footprints[:0].new_zeros((2, len(CLASSES))),
                                empty.xy, torch.full((2,), 0.3)).text == (
        "I am in the middle of the room; the map shows no object to place me by")


def test_the_inventory_lists_every_class_on_the_map_with_its_number_largest_first():
    # two chairs apart, a bed (three columns), a lamp on a desk; a faint pillow below the count threshold
    room = furnished_map([("chair", [(0.0, 0.0)]), ("chair", [(3.0, 0.0)]), ("bed", [(0.0, 4.0), (0.3, 4.0),
                          (0.6, 4.0)]), ("desk", [(5.0, 0.0), (5.3, 0.0)]), ("lamp", [(5.3, 0.0)]),
                          ("pillow", [(0.0, 6.0)])])
    room.footprints[7, CLASSES.index("pillow")] = 0.5

    def inventory(question: str, situated: bool = False) -> object:
        measured = measured_inventory(AskedQuestion(question, ["class"], situated=situated), room.footprints,
                                      room.xy, room.cell_size)
        return None if measured is None else (measured.text, measured.cells)

    assert inventory("what do you see?") == ("a bed, a desk, two chairs and a lamp", [2, 5, 0, 6])
    assert inventory("how many things are in the room?") == ("five things: a bed, a desk, two chairs and a lamp",
                                                              [2, 5, 0, 6])
    assert inventory("what is in the room?", situated=True) is None  # asked from a situation: the model's
    assert inventory("what is in the box?") is None  # a class named: not the room's inventory
    assert inventory("what is the biggest thing here?") is None
    # a place in the room: the objects there (the walls are the map's outermost columns, x 0–5.3 m, y 0–6 m)
    assert inventory("what is in the corner?")[0] == "a desk, a chair and a lamp"  # the chair at (0, 0)
    assert inventory("What's against the wall?")[0] == "a bed and a chair"  # the chair at (3, 0)
    assert inventory("what is in the middle of the room?") == ("I have seen nothing in the middle of the room", [])
    question = AskedQuestion("Which objects are there?", ["class"])
    assert measured_text("pillow", torch.ones(len(room.xy)), room, question) == "a bed, a desk, two chairs and a lamp"
    doubted = AskedQuestion("what do you see?", ["class"], presence={"desk": 0.3, "bed": 0.9, "lamp": 0.5})
    assert measured_text("pillow", torch.ones(len(room.xy)), room, doubted) == "a bed, two chairs and a lamp"
    empty = furnished_map([("chair", [(0.0, 0.0)])])
    empty.footprints.zero_()
    assert measured_inventory(question, empty.footprints, empty.xy, empty.cell_size) is None  # nothing to list


def test_one_objects_side_of_another_from_the_askers_pose():
    # the asker at the origin facing +x; a lamp ahead-left (2, 1), a bed ahead-right (2, -1), a chair behind (-2, 0)
    room = furnished_map([("lamp", [(2.0, 1.0)]), ("bed", [(2.0, -1.0), (2.3, -1.0)]), ("chair", [(-2.0, 0.0)])])
    attention = torch.ones(len(room.xy))

    def side_of(question: str, pose: object = (0.0, 0.0, 0.0)) -> object:
        measured = measured_side_of(AskedQuestion(question, pose=pose, situated=pose is not None), attention,
                                    room.footprints, room.xy, room.cell_size)
        return None if measured is None else measured.text

    assert side_of("is the lamp left or right of the bed?") == "left"
    assert side_of("Is the bed to the left or to the right of the lamp?") == "right"
    assert side_of("is the bed to the right of the lamp?") == "yes"
    assert side_of("is the lamp on the right side of the bed") == "no"
    assert side_of("is the lamp left or right of the bed?", pose=(4.0, 0.0, math.pi)) == "right"  # turned round
    assert side_of("is the lamp left or right of the sofa?") == "I have not seen a sofa"
    assert side_of("is the lamp left or right of the bed?", pose=None) is None  # no viewpoint: not this reader
    assert side_of("is the lamp on my left?") is None
    # "what is to the left of the bed?": the nearest object on that side of it, as the asker sees them
    assert side_of("what is to the left of the bed?") == "lamp"
    assert side_of("What's on the right side of the lamp?") == "bed"
    assert side_of("what is to the right of the bed?") == "nothing that I have seen is right of the bed"
    assert side_of("what is to the left of the bed?", pose=(4.0, 0.0, math.pi)) == "nothing that I have seen is left "\
        "of the bed"
    assert side_of("what is left or right of the bed?") is None


def test_which_of_a_classs_objects_is_nearer_another_object_said_by_where_it_stands():
    # a bed with a lamp on the nightstand beside it, another lamp by the far desk, one chair
    room = furnished_map([("bed", [(0.0, 0.0), (0.3, 0.0)]), ("nightstand", [(0.9, 0.0)]), ("lamp", [(0.9, 0.0)]),
                          ("desk", [(4.0, 0.0), (4.3, 0.0)]), ("lamp", [(4.9, 0.0)]), ("chair", [(0.0, 2.0)])])
    attention = torch.ones(len(room.xy))

    def which(question: str, situated: bool = False) -> object:
        measured = measured_which_one(AskedQuestion(question, situated=situated), attention, room.footprints, room.xy,
                                      room.cell_size)
        return None if measured is None else measured.text

    assert which("Which lamp is closer to the bed?") == "the lamp on the nightstand"
    assert which("which lamp is farthest from the bed?") == "the lamp next to the desk"
    assert which("which chair is nearest to the bed?") == "I have seen one chair: it is near the bed"
    assert which("which sofa is closer to the bed?") == "I have not seen a sofa"
    assert which("which is closer to the bed, the desk or the chair?") is None  # two candidates: measured_closer
    assert which("which lamp is closer to the bed?", situated=True) is None
    assert which("what is closer to the bed?") is None
    assert which("which lamp is closer to the window?") == OPENING_UNKNOWN.format(opening="window")
    twins = furnished_map([("bed", [(0.0, 0.0), (0.0, 0.3)]), ("lamp", [(-0.9, 0.0)]), ("lamp", [(0.9, 0.0)])])
    assert measured_which_one(AskedQuestion("which lamp is closer to the bed?"), torch.ones(3), twins.footprints,
                              twins.xy, twins.cell_size).text == \
        "both lamps are about as close to the bed (1.0 meters)"


def test_whether_an_object_is_on_another_is_read_from_what_it_stands_on():
    # a desk whose middle a TV hides (no desk read on the TV's column), a nightstand with a lamp on it, a floor lamp,
    # a bed with a pillow, a chair; the presence head doubts the desk
    room = furnished_map([("desk", [(0.0, 0.0), (0.6, 0.0)]), ("tv", [(0.3, 0.0)]), ("nightstand", [(3.0, 0.0)]),
                          ("lamp", [(3.0, 0.0)]), ("lamp", [(5.0, 2.0)]), ("bed", [(3.0, 2.0), (3.3, 2.0)]),
                          ("pillow", [(3.3, 2.0)]), ("chair", [(0.0, 2.0)])])
    presence = {"desk": 0.2}

    def on(question: str) -> object:
        measured = measured_on_support(AskedQuestion(question, presence=presence), room.footprints, None, room.xy,
                                       room.cell_size)
        return None if measured is None else measured.text

    assert on("is the tv on the desk?") == "yes"  # the desk beside the TV's columns, doubted or not
    assert on("Is the TV on the nightstand") == "no"
    assert on("is there a pillow on the bed?") == "yes"
    assert on("does the lamp stand on the nightstand?") == "yes"  # one of the two lamps does
    assert on("is the lamp on the floor?") == "yes"  # the other
    assert on("is the chair on the floor?") == "yes"
    assert on("is there a lamp on the bed?") == "no"
    assert on("is the pillow on the bed or the sofa?") == "bed"
    assert on("is the box on the shelf?") == "no, I have not seen a box"
    assert on("is the lamp on?") is None  # a state: measured_state says the map cannot tell
    assert on("is the lamp on the left of the bed?") is None  # a side, not a support
    assert on("is the lamp on the nightstand next to the bed?") is None
    # "is there anything on X?": what stands on it, listed
    assert on("is there anything on the bed?") == "yes, a pillow"
    assert on("Is anything on the nightstand") == "yes, a lamp"
    assert on("is there something on the desk?") == "yes, a tv"  # the doubted desk is the one asked about
    assert on("is there anything on the ground?") == "yes, a bed, a chair, a nightstand and a lamp"  # desk doubted
    assert on("is there anything on the sofa?") == "no, I have not seen a sofa"
    assert on("is there anything on the shelf next to the bed?") is None
    assert on("is anything on the chair?") == "no, I see nothing on the chair"  # nothing stands on a chair
    bare = furnished_map([("table", [(0.0, 0.0)]), ("box", [(2.0, 0.0)])])
    assert measured_on_support(AskedQuestion("are there any things on the table?"), bare.footprints, None, bare.xy,
                               bare.cell_size).text == "no, I see nothing on the table"
    grounded = measured_on_support(AskedQuestion("is the tv on the desk?"), room.footprints, None, room.xy,
                                   room.cell_size)
    assert grounded.cells == [2]  # the TV
    # what the TV stands on: the desk beside it where the model said a support a TV never has
    question = AskedQuestion("what is the tv standing on?", ["spatial_relation"], presence=presence)
    attention = torch.ones(len(room.xy))
    relation = measured_relation_object(question, attention, room.footprints, room.xy, room.cell_size, "bed")
    assert (relation.text, sorted(relation.cells)) == ("desk", [0, 1])
    assert measured_relation_object(question, attention, room.footprints, room.xy, room.cell_size, "table") is None
    assert measured_location(AskedQuestion("where is the tv?", presence=presence), attention, room.footprints,
                             room.xy, room.cell_size).text == "the tv is on the desk"


def test_a_colour_question_is_answered_from_the_colour_heads_over_the_named_object():
    # a desk the colour heads see orange; a pillow on a gray bed, its column mostly gray, a third blue
    room = furnished_map([("desk", [(0.0, 0.0), (0.3, 0.0)]), ("bed", [(3.0, 0.0), (3.3, 0.0)]),
                          ("pillow", [(3.3, 0.0)])])
    colours = torch.zeros((len(room.xy), len(COLOURS) + 1))
    colours[[0, 1], list(COLOURS).index("orange")] = 0.9
    colours[2, list(COLOURS).index("gray")] = 1.0
    colours[3, list(COLOURS).index("gray")] = 0.6
    colours[3, list(COLOURS).index("blue")] = 0.3
    attention = torch.ones(len(room.xy))

    def colour(question: str, said: str, types: tuple[str, ...] = ("colour",), situated: bool = False) -> str:
        return measured_text(said, attention, SimpleNamespace(**vars(room), colour_probs=colours),
                             AskedQuestion(question, list(types), situated=situated))

    assert colour("name the color of the work desk.", "brown") == "orange"
    assert colour("what colour is the pillow?", "blue") == "blue"  # seen there too (half the gray): kept
    assert colour("what colour is the pillow?", "red") == "gray"
    assert colour("what colour is the desk?", "brown", ("class",)) == "brown"  # not read as a colour question
    assert colour("what colour is the chair on my left?", "red", situated=True) == "red"  # the pose picks the chair
    assert colour("what colour is the sofa?", "red") == "red"  # the map shows no sofa
    measured = measured_colour(AskedQuestion("what colour is the desk?"), attention, room.footprints, colours, room.xy,
                               room.cell_size)
    assert (measured.text, sorted(measured.cells)) == ("orange", [0, 1])  # grounded on the desk
    lamps = furnished_map([("lamp", [(0.0, 0.0)]), ("lamp", [(3.0, 0.0)]), ("lamp", [(6.0, 0.0)])])
    shades = torch.zeros((3, len(COLOURS) + 1))
    shades[[0, 1], list(COLOURS).index("gray")] = 1.0
    shades[2, list(COLOURS).index("red")] = 1.0

    def plural(question: str, cells: list[int] = (0, 1, 2)) -> str:
        measured = measured_colour(AskedQuestion(question), torch.ones(3), lamps.footprints[list(cells)],
                                   shades[list(cells)], lamps.xy[list(cells)], lamps.cell_size[list(cells)])
        return measured.text

    assert plural("what colour are the lamps?") == "of the three lamps, two are gray and one is red"
    assert plural("what colors are the lamps?", [0, 2]) == "the two lamps are gray and red"
    assert plural("What colour are the lamps", [0, 1]) == "the two lamps are both gray"
    assert plural("what colour are the lamps?", [2]) == "red"  # one lamp: its colour
    # "is the pillow blue?": yes / no (the model answered with the colour), as the colour question keeps colours
    assert colour("is the pillow blue?", "blue") == colour("Is the pillow gray", "blue") == "yes"
    assert colour("is the pillow red?", "red") == "no, it is gray"
    assert colour("is the pillow blue or gray?", "blue") == "gray"
    assert colour("is the desk red or green?", "red") == "neither: it is orange"
    assert colour("is the desk painted orange?", "brown") == colour("is the desk orange in colour?", "red") == "yes"
    assert colour("is the sofa red?", "red") == "I have not seen a sofa"
    assert colour("are the lamps grey?", "gray") == "I have not seen a lamp"
    assert colour("is the pillow on the bed blue?", "blue") == "blue"  # a relation too: the colour reader's
    assert colour("is the desk big?", "yes", ("size",)) == "yes"  # no colour
    assert measured_colour_check(AskedQuestion("are the lamps gray?"), torch.ones(3), lamps.footprints, shades,
                                 lamps.xy, lamps.cell_size).text == "of the three lamps, two are gray and one is red"
