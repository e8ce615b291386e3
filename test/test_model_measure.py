"""Metric answers measured on the map between the attended objects (leovl_ros.model.measure)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from leovl_ros.model.measure import (
    COUNT_MIN_P,
    MEASURE_TOP_CELLS,
    NEXT_TO_M,
    RELATION_TYPE,
    AskedQuestion,
    asks_side,
    attended_pair,
    cluster_cells,
    distance_text,
    measured_answer,
    measured_count,
    measured_direction,
    measured_distance,
    measured_next_to,
)
from leovl_ros.sim.scene import CLASSES


def two_objects(gap: float = 2.2) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A 0.3 m cell map: a four-cell object reaching from the origin to x = 0.6, a one-cell object ``gap`` metres
    along x, a far wall of low attention; the attention is nearly all on the two objects, unevenly in the first."""
    xy = torch.tensor([[0.0, 0.0], [0.3, 0.0], [0.6, 0.0], [0.0, 0.3], [gap, 0.0], [0.0, 4.0], [0.3, 4.0]])
    attention = torch.tensor([0.4, 0.1, 0.1, 0.1, 0.25, 0.03, 0.02])
    return xy, torch.full((len(xy),), 0.3), attention


def test_distance_between_the_attention_weighted_centres_of_the_two_heaviest_objects():
    xy, size, attention = two_objects()
    # the first object's centre is pulled towards its most-attended cell: (0.1·0.3 + 0.1·0.6, 0.1·0.3) / 0.7
    first = torch.tensor([0.09 / 0.7, 0.03 / 0.7], dtype=torch.float64)
    expected = float(torch.linalg.norm(torch.tensor([2.2, 0.0], dtype=torch.float64) - first))
    assert measured_distance(attention, xy, size) == pytest.approx(expected, abs=1e-6)
    assert distance_text(expected) == "2.0 meters"  # 2.07 m → the nearest half metre


def test_the_pair_is_the_two_heaviest_objects_heavier_first():
    xy, size, attention = two_objects()
    assert attended_pair(attention, xy, size) == ([0, 1, 2, 3], [4])
    # the wall's two cells are a third object, lighter than both: never part of the pair
    assert attended_pair(attention, xy, size, top=len(xy)) == ([0, 1, 2, 3], [4])
    swapped = attention.clone()
    swapped[4] = 0.9
    assert attended_pair(swapped, xy, size) == ([4], [0, 1, 2, 3])


def test_objects_are_clustered_by_cell_edges_from_their_first_cell():
    xy, size, _ = two_objects()
    assert cluster_cells(xy, size, [0, 4, 1, 3, 5, 6], reach=1.5) == [[0, 1, 3], [4], [5, 6]]
    assert cluster_cells(xy, size, [0, 4], reach=10.0) == [[0, 4]]  # one object when the reach spans both


def test_no_measurement_without_two_attended_objects():
    xy, size, attention = two_objects()
    only_first = torch.tensor([0.4, 0.3, 0.2, 0.1, 0.0, 0.0, 0.0])
    assert attended_pair(only_first, xy, size, top=4) is None  # the top cells form one object
    assert measured_distance(only_first, xy, size) is None  # a second object with no attention
    assert measured_next_to(only_first, xy, size) is None
    assert measured_distance(torch.zeros(len(xy)), xy, size) is None
    assert measured_distance(attention[:3], xy, size) is None  # attention of another scene's length
    assert measured_distance(torch.zeros(0), xy[:0], size[:0]) is None
    assert MEASURE_TOP_CELLS >= 2
    # two objects closer than the measuring reach (3 cell edges from the first's first cell) are one object
    no_wall = torch.cat([attention[:5], torch.zeros(2)])
    assert attended_pair(no_wall, *two_objects(gap=0.9)[:2]) is None
    assert attended_pair(no_wall, *two_objects(gap=0.91)[:2]) == ([0, 1, 2, 3], [4])


@pytest.mark.parametrize(("metres", "text"), [(0.1, "0.5 meters"), (0.74, "0.5 meters"), (0.76, "1.0 meters"),
                                              (3.26, "3.5 meters"), (12.0, "12.0 meters")])
def test_distance_text_rounds_as_the_training_answers(metres, text):
    assert distance_text(metres) == text


@pytest.mark.parametrize(("gap", "near"), [(1.0, True), (NEXT_TO_M + 0.6, True), (NEXT_TO_M + 0.61, False),
                                           (3.0, False)])
def test_next_to_when_some_cells_of_the_two_lie_within_the_threshold(gap, near):
    """The first object's cells reach x = 0.6, the second sits at x = gap: their closest cells are gap − 0.6 apart."""
    xy, size, attention = two_objects(gap=gap)
    assert measured_next_to(attention, xy, size) is near


def test_only_distance_and_relation_yes_no_answers_are_measured():
    xy, size, attention = two_objects(gap=3.0)
    scene = SimpleNamespace(xy=xy, cell_size=size)
    relation = AskedQuestion("is the lamp next to the bed?", [RELATION_TYPE])
    assert measured_answer("0.5 meters", attention, scene, AskedQuestion()) == "3.0 meters"
    for other in ("chair", "two", "there is no sofa", "1.5 meters away, behind the sofa", ""):
        assert measured_answer(other, attention, scene, relation) == other
    assert measured_answer("yes", attention, scene, relation) == "no"  # 2.7 m apart: not next to
    near = SimpleNamespace(xy=two_objects(gap=1.2)[0], cell_size=size)
    assert measured_answer("no", attention, near, relation) == "yes"
    # yes / no of other types ("is there a sofa?", "is the bed bigger than the desk?") stay the model's
    for types in ([], ["existence"], ["size"]):
        assert measured_answer("yes", attention, scene, AskedQuestion("is there a sofa?", types)) == "yes"
    assert measured_answer("yes", attention[:2], scene, relation) == "yes"  # nothing to measure
    for no_geometry in (SimpleNamespace(xy=None, cell_size=size), SimpleNamespace(xy=xy, cell_size=None), object()):
        assert measured_answer("0.5 meters", attention, no_geometry, AskedQuestion()) == "0.5 meters"
    assert measured_answer("0.5 meters", attention[:2], scene, AskedQuestion()) == "0.5 meters"
    assert not math.isnan(measured_distance(attention, xy, size))


@pytest.mark.parametrize(("question", "side"), [
    ("Is the lamp on my left or on my right?", True), ("which side is the lamp on, left or right?", True),
    ("Lamp: left or right of me?", True), ("Where is the lamp relative to me?", False),
    ("Is the lamp in front of me, behind me, on my left or on my right?", False),
    ("Is the lamp ahead of me or to my right?", False), ("Which direction should I look to see the lamp?", False)])
def test_side_questions_offer_only_left_and_right(question, side):
    assert asks_side(question) is side


def test_direction_from_the_askers_pose_to_the_most_attended_object():
    """The heavier object (centre ≈ (0.13, 0.04)) seen from (2, 0): facing −x it is ahead, facing +y on the left,
    facing +x behind; a side question then says which side of the facing line it lies on."""
    xy, size, attention = two_objects()
    where = "Where is the lamp relative to me?"
    assert measured_direction(attention, xy, size, (2.0, 0.0, math.pi), where) == "front"
    assert measured_direction(attention, xy, size, (2.0, 0.0, math.pi / 2), where) == "left"
    assert measured_direction(attention, xy, size, (2.0, 0.0, -math.pi / 2), where) == "right"
    assert measured_direction(attention, xy, size, (2.0, 0.0, 0.0), where) == "behind"
    side = "Is the lamp on my left or my right?"
    assert measured_direction(attention, xy, size, (2.0, 0.0, 0.0), side) == "left"  # behind, a little to the left
    assert measured_direction(attention, xy, size, (2.0, 0.0, math.pi), side) == "right"  # ahead, a little right
    assert measured_direction(torch.zeros(len(xy)), xy, size, (2.0, 0.0, 0.0), where) is None
    # only a direction answer to a question asked with a pose is measured
    scene = SimpleNamespace(xy=xy, cell_size=size)
    asked = AskedQuestion(where, ["situated_direction"], (2.0, 0.0, math.pi), situated=True)
    assert measured_answer("behind", attention, scene, asked) == "front"
    assert measured_answer("behind", attention, scene, AskedQuestion(where, ["situated_direction"])) == "behind"
    assert measured_answer("chair", attention, scene, asked) == "chair"


def chair_map() -> SimpleNamespace:
    """A 0.3 m cell map with three chairs' footprints: a two-cell one, a one-cell one 0.9 m (3 cell edges) from it,
    one far away; the column classifier also half-believes in a chair at one more cell (below ``COUNT_MIN_P``)."""
    xy = torch.tensor([[0.0, 0.0], [0.3, 0.0], [1.2, 0.0], [3.0, 3.0], [5.0, 5.0], [2.0, 0.0]])
    footprints = torch.zeros(len(xy), len(CLASSES))
    footprints[:4, CLASSES.index("chair")] = torch.tensor([0.95, 0.8, 0.9, 0.75])
    footprints[5, CLASSES.index("chair")] = COUNT_MIN_P
    footprints[4, CLASSES.index("bed")] = 0.9
    return SimpleNamespace(xy=xy, cell_size=torch.full((len(xy),), 0.3), footprints=footprints)


def test_count_groups_of_adjacent_footprint_columns():
    room = chair_map()
    chairs = room.footprints[:, CLASSES.index("chair")]
    assert measured_count(chairs, room.xy, room.cell_size) == 3
    assert measured_count(room.footprints[:, CLASSES.index("bed")], room.xy, room.cell_size) == 1
    assert measured_count(room.footprints[:, CLASSES.index("sofa")], room.xy, room.cell_size) == 0
    closer = room.xy.clone()
    closer[2, 0] = 0.9  # 2 cell edges from the first chair's second column: the same object
    assert measured_count(chairs, closer, room.cell_size) == 2


def test_room_counts_above_zero_come_from_the_map():
    room, attention = chair_map(), torch.ones(6)
    counting = AskedQuestion("How many chairs are there?", ["counting"])
    assert measured_answer("two", attention, room, counting) == "three"
    assert measured_answer("four", attention, room, counting) == "three"
    assert measured_answer("one", attention, room, counting) == "two"  # at most one more than the model said
    assert measured_answer("zero", attention, room, counting) == "zero"  # zero stays the model's and the gate's
    sofas = AskedQuestion("How many sofas are there?", ["counting"])
    assert measured_answer("two", attention, room, sofas) == "two"  # the map sees none: the model's count stays
    for kept in (AskedQuestion("How many chairs are behind me?", ["counting"], (0.0, 0.0, 0.0), situated=True),
                 AskedQuestion("How many chairs are next to the bed?", ["counting"]),  # two classes named
                 AskedQuestion("How many are there?", ["counting"]),  # no class named
                 AskedQuestion("How many chairs are there?", ["existence"])):
        assert measured_answer("one", attention, room, kept) == "one"
    at_most_two = AskedQuestion("How many chairs are there?", ["counting"], answers=frozenset({"zero", "one", "two"}))
    assert measured_answer("two", attention, room, at_most_two) == "two"  # a count decoding could not say: unused
    no_classifier = SimpleNamespace(xy=room.xy, cell_size=room.cell_size, footprints=None)
    assert measured_answer("one", attention, no_classifier, counting) == "one"
