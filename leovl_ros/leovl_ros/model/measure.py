"""Distances measured on the map between the objects an answer attends to, instead of guessed by the language model.

Asked "how far is the sofa from the lamp?", the language model names a distance from what the scene tokens say of
the two objects' positions: on held-out rooms it says the right half metre 16 % of the time (chance over the answer
set is about 8 %). The reader's attention for that question lies on the two objects, and the map knows where its
cells are: the floor-plan distance between the attention-weighted centres of the two most-attended objects, rounded
as the answers are (nearest 0.5 m), is right 2.3 times as often (``docs/experiments.md``, "Distances measured on
the map"). ROS-free; :meth:`LeoVLModel.generate` applies it to every distance answer.
"""

from __future__ import annotations

import re
from typing import Optional

import torch

from leovl_ros.sim.templates import metres

MEASURE_TOP_CELLS = 8
"""How many of the most-attended cells a measurement looks at (on 504 questions of 240 validation rooms, right answers
at ``MEASURE_SAME_OBJECT_CELLS``: 3 → 27.0 %, 5 → 31.0 %, 8 → 33.5 %, 10 → 32.5 %, 30 → 33.7 %: a plateau from 8)."""

MEASURE_SAME_OBJECT_CELLS = 3.0
"""Cells within this many cell edges of an object's most-attended cell belong to that object when measuring (1.5 →
30.0 %, 2.5 → 33.1 %, 3.0 → 33.5 % on the validation rooms: a bed or a table spans more than the grounding's 1.5)."""

DISTANCE_ANSWER = re.compile(r"^\d+(?:\.\d+)? meters?$")
"""A distance answer of the training data ('2.5 meters')."""


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


def measured_distance(attention: torch.Tensor, xy: torch.Tensor, cell_size: torch.Tensor,
                      top: int = MEASURE_TOP_CELLS, reach: float = MEASURE_SAME_OBJECT_CELLS) -> Optional[float]:
    """Floor-plan distance (m) between the attention-weighted centres of the two objects holding the most attention
    among the ``top`` most-attended cells; None when they form fewer than two objects or carry no attention."""
    attention = attention.double().flatten()
    if attention.numel() == 0 or attention.numel() != len(xy) or not float(attention.max()) > 0.0:
        return None
    cells = [int(c) for c in torch.topk(attention, min(top, attention.numel())).indices]
    objects = sorted(cluster_cells(xy, cell_size, cells, reach), key=lambda o: -float(attention[o].sum()))[:2]
    if len(objects) < 2 or not float(attention[objects[1]].sum()) > 0.0:
        return None
    centres = [(xy[o].double() * attention[o, None]).sum(0) / attention[o].sum() for o in objects]
    return float(torch.linalg.norm(centres[0] - centres[1]))


def distance_text(distance: float) -> str:
    """The answer for a measured distance, as the training data words it: the nearest 0.5 m, at least 0.5."""
    return metres(max(0.5, round(distance * 2.0) / 2.0))


def measured_answer(text: str, attention: torch.Tensor, xy: Optional[torch.Tensor],
                    cell_size: Optional[torch.Tensor]) -> str:
    """``text`` with a distance answer replaced by the distance measured on the map (:func:`measured_distance`);
    any other answer, or one the attention cannot measure (one object, no map geometry), as it is."""
    if xy is None or cell_size is None or not DISTANCE_ANSWER.match(text):
        return text
    distance = measured_distance(attention, xy.cpu(), cell_size.cpu())
    return text if distance is None else distance_text(distance)
