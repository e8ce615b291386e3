"""Distances measured on the map between the attended objects (leovl_ros.model.measure)."""

from __future__ import annotations

import math

import pytest
import torch

from leovl_ros.model.measure import (
    MEASURE_TOP_CELLS,
    cluster_cells,
    distance_text,
    measured_answer,
    measured_distance,
)


def two_objects(gap: float = 2.2) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A 0.3 m cell map: a 2×2-cell object at the origin, a one-cell object ``gap`` metres along x, a far wall of
    low attention; the attention is all on the two objects, unevenly within the first."""
    xy = torch.tensor([[0.0, 0.0], [0.3, 0.0], [0.0, 0.3], [0.3, 0.3], [gap, 0.0], [0.0, 4.0], [0.3, 4.0]])
    attention = torch.tensor([0.4, 0.1, 0.1, 0.1, 0.25, 0.03, 0.02])
    return xy, torch.full((len(xy),), 0.3), attention


def test_distance_between_the_attention_weighted_centres_of_the_two_heaviest_objects():
    xy, size, attention = two_objects()
    # the first object's centre is pulled towards its most-attended cell: (0.3·0.2, 0.3·0.2) / 0.7
    first = torch.tensor([0.3 * 0.2 / 0.7, 0.3 * 0.2 / 0.7], dtype=torch.float64)
    expected = float(torch.linalg.norm(torch.tensor([2.2, 0.0], dtype=torch.float64) - first))
    assert measured_distance(attention, xy, size) == pytest.approx(expected, abs=1e-6)
    # the wall's two cells are a third object, lighter than both: never measured to
    assert measured_distance(attention, xy, size, top=len(xy)) == pytest.approx(expected, abs=1e-6)
    assert distance_text(expected) == "2.0 meters"  # 2.19 m → the nearest half metre


def test_objects_are_clustered_by_cell_edges_from_their_first_cell():
    xy, size, _ = two_objects()
    assert cluster_cells(xy, size, [0, 4, 1, 3, 5, 6], reach=1.5) == [[0, 1, 3], [4], [5, 6]]
    assert cluster_cells(xy, size, [0, 4], reach=10.0) == [[0, 4]]  # one object when the reach spans both


def test_no_measurement_without_two_attended_objects():
    xy, size, attention = two_objects()
    only_first = torch.tensor([0.4, 0.3, 0.2, 0.1, 0.0, 0.0, 0.0])
    assert measured_distance(only_first, xy, size, top=4) is None  # the top cells form one object
    assert measured_distance(only_first, xy, size, top=5) is None  # a second object with no attention
    assert measured_distance(torch.zeros(len(xy)), xy, size) is None
    assert measured_distance(attention[:3], xy, size) is None  # attention of another scene's length
    assert measured_distance(torch.zeros(0), xy[:0], size[:0]) is None
    assert MEASURE_TOP_CELLS >= 2


@pytest.mark.parametrize(("metres", "text"), [(0.1, "0.5 meters"), (0.74, "0.5 meters"), (0.76, "1.0 meters"),
                                              (3.26, "3.5 meters"), (12.0, "12.0 meters")])
def test_distance_text_rounds_as_the_training_answers(metres, text):
    assert distance_text(metres) == text


def test_only_distance_answers_are_measured():
    xy, size, attention = two_objects(gap=3.0)
    measured = measured_answer("0.5 meters", attention, xy, size)
    assert measured == "3.0 meters"
    for other in ("chair", "two", "there is no sofa", "1.5 meters away, behind the sofa", ""):
        assert measured_answer(other, attention, xy, size) == other
    assert measured_answer("0.5 meters", attention, None, size) == "0.5 meters"  # no map geometry: the model's
    assert measured_answer("0.5 meters", attention, xy, None) == "0.5 meters"
    assert measured_answer("0.5 meters", attention[:2], xy, size) == "0.5 meters"
    assert not math.isnan(measured_distance(attention, xy, size))
