"""The map's objects, as measuring answers needs them (``model.measure``): the columns an answer attends to grouped
into objects, and the column classifier's footprints (``LeoVLModel.class_footprints``) grouped into objects of each
class — their centres, where they stand, their typical sizes, which lie in a direction or between two others.
ROS-free; every threshold was chosen on validation rooms (figures in each constant's docstring and in
``docs/experiments.md``)."""

from __future__ import annotations

import math
from typing import Optional

import torch

from leovl_ros.sim.furnish import CLASS_SPECS
from leovl_ros.sim.scene import CLASSES
from leovl_ros.sim.spatial import bearing

MEASURE_TOP_CELLS = 8
"""How many of the most-attended cells a measurement looks at (on 504 distance questions of 240 validation rooms,
right answers at ``MEASURE_SAME_OBJECT_CELLS``: 3 → 27.0 %, 5 → 31.0 %, 8 → 33.5 %, 10 → 32.5 %, 30 → 33.7 %: a
plateau from 8)."""

MEASURE_SAME_OBJECT_CELLS = 3.0
"""Cells within this many cell edges of an object's most-attended cell belong to that object when measuring (1.5 →
30.0 %, 2.5 → 33.1 %, 3.0 → 33.5 % on the validation distances: a bed or a table spans more than the grounding's
1.5)."""

COUNT_MIN_P = 0.7
"""A column counts towards a class when the column classifier's footprint probability of it exceeds this. On 1,372
validation counting questions (model 63.9 %; ``COUNT_SAME_OBJECT_CELLS`` 2): 0.6 → 72.4 %, 0.7 → 73.1 %, 0.8 →
71.5 % right when every answer is counted; keeping the model's "zero", 73.7 %; also at most one above the model's
count, 74.5 % (the map's count only where it is within one of the model's: 74.3 %)."""

COUNT_SAME_OBJECT_CELLS = 2.0
"""Counted columns within this many cell edges of each other are one object (at ``COUNT_MIN_P``: 1.0 → 62.7 %, 1.5 →
64.6 %, 2.0 → 73.1 %, 2.5 → 73.0 % on the validation questions)."""

NAMED_OBJECT_MIN_P = 0.5
"""Footprint probability above which a column belongs to the object a question names (:func:`attended_class_object`:
sizes, distances, routes). On 761 validation comparisons of two named classes (240 rooms, training wordings; the
model 50.7 % right): typical sizes by class alone 91.1 %, placed as the map shows at 0.3 / 0.5 / 0.7: 95.1 / 95.3 /
94.7 %; sized from the map's columns instead (footprint area, or area × column height) 77–82 %: the column
classifier's footprints are coarser than the sizes. On 960 validation distance questions: 55.4 / 55.6 / 50.6 %."""

SUPPORT_CLASSES: tuple[str, ...] = tuple(sorted({h for spec in CLASS_SPECS.values() for h in spec.supports}))
"""Classes other objects stand on (``sim.furnish.CLASS_SPECS``: tables, desks, shelves, beds, …)."""

SUPPORT_MIN_P = 0.5
"""A column shows a support under an object when a support class's footprint probability there exceeds this (0.3 /
0.5 / 0.7: 95.3 / 95.3 / 94.9 % on the validation comparisons)."""

SECTOR_ANGLES = {"front": 0.0, "left": 90.0, "behind": 180.0, "right": -90.0}
"""Centre bearing (degrees, counter-clockwise from the facing) of each of ``sim.spatial.SECTORS``."""

CANDIDATE_MIN_P = 0.8
"""Footprint probability above which columns make an object a nearest / farthest answer may name. On 914 / 829
validation questions (the model 41.4 / 62.6 %): 0.6 → 49.6 / 69.0 %, 0.7 → 52.0 / 69.1, 0.8 → 55.0 / 71.2, 0.9 →
55.3 / 70.9; objects sharing columns with the asked one kept (a pillow on the bed): 36.4 / 69.1 at 0.7."""

ON_CLASSES: tuple[str, ...] = tuple(c for c in CLASSES if CLASS_SPECS[c].on_size is not None)
"""Classes that stand on other objects (``sim.furnish.CLASS_SPECS``: lamps, plants, boxes, TVs, monitors, pillows)."""

BETWEEN_OFFSET_M = 0.8
"""An object is between two others when its centre projects onto the middle 70 % of the line joining theirs, at
most this far (m) from it. On 389 validation "what is between X and Y?" questions (the model 41.6 %): the data's
0.5 m → 54.0 %, 0.8 m → 57.8 % (the map's centres are less exact than the data's)."""

SITUATED_MIN_M = 0.5
"""Objects closer than this (m, centre to the asker) are the one the asker stands at or sits on, not one to name
(the training data's rule; 0.8 instead: 67.4 % against 83.9 % on 909 validation questions, the model 19.8 %)."""


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


def class_objects(footprint: torch.Tensor, xy: torch.Tensor, cell_size: torch.Tensor,
                  min_p: float = COUNT_MIN_P) -> list[list[int]]:
    """The objects of one class the map holds, as lists of columns: columns whose footprint probability of it
    (``footprint`` [N]) exceeds ``min_p``, a column joining a group when within ``COUNT_SAME_OBJECT_CELLS`` cell
    edges of one of its columns."""
    cells = torch.nonzero(footprint > min_p).flatten().tolist()
    if not cells:
        return []
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
    objects: dict[int, list[int]] = {}
    for i, cell in enumerate(cells):
        objects.setdefault(root(i), []).append(cell)
    return list(objects.values())


def stands_on_support(footprints: torch.Tensor, cells: list[int], cls: str) -> bool:
    """Whether most of an object's columns also carry a support class (a table, a shelf, a bed, …) above
    ``SUPPORT_MIN_P``: a lamp on a desk, not a floor lamp."""
    others = [CLASSES.index(c) for c in SUPPORT_CLASSES if c != cls]
    return float((footprints[cells][:, others].amax(1) > SUPPORT_MIN_P).double().mean()) > 0.5


def typical_volume(cls: str, on_support: Optional[bool]) -> float:
    """A class's typical bounding volume (m³, ``sim.furnish.CLASS_SPECS``) standing on a support (``on_support``
    True) or on the floor (False); unknown (None): the geometric mean of the two. A class with one placement has
    one size."""
    spec = CLASS_SPECS[cls]
    sizes = [s for s in (spec.size, spec.on_size) if s is not None]
    if on_support is not None and len(sizes) == 2:
        sizes = [spec.on_size if on_support else spec.size]
    return math.exp(sum(math.log(math.prod(s)) for s in sizes) / len(sizes))


def attended_class_object(cls: str, attention: torch.Tensor, footprints: torch.Tensor, xy: torch.Tensor,
                          cell_size: torch.Tensor, min_p: float = NAMED_OBJECT_MIN_P) -> list[int]:
    """The map's object of a class a question names: of its objects (:func:`class_objects` at ``min_p``), the one
    holding the most attention, most probable column first; empty when the map shows none."""
    footprint = footprints[:, CLASSES.index(cls)]
    objects = class_objects(footprint, xy, cell_size, min_p)
    if not objects:
        return []
    weights = attention.double().flatten()
    attended = max(objects, key=lambda o: float(weights[o].sum())) if weights.numel() == len(xy) else objects[0]
    return most_probable_first(footprints, cls, attended)


def most_probable_first(footprints: torch.Tensor, cls: str, cells: list[int]) -> list[int]:
    """An object's columns ordered by the footprint probability of its class, highest first (the grounding order)."""
    footprint = footprints[:, CLASSES.index(cls)]
    return sorted(cells, key=lambda c: -float(footprint[c]))


def other_objects(footprints: torch.Tensor, xy: torch.Tensor, cell_size: torch.Tensor, min_p: float,
                  asked: Optional[str] = None, apart_from: list[int] = ()) -> list[tuple[str, list[int]]]:
    """Every class's objects (:func:`class_objects` at ``min_p``) as (class, columns), less those of the ``asked``
    class and those sharing columns with ``apart_from`` (a pillow on the bed a question asks about)."""
    apart = set(apart_from)
    return [(cls, cells) for index, cls in enumerate(CLASSES) if cls != asked
            for cells in class_objects(footprints[:, index], xy, cell_size, min_p) if not apart & set(cells)]


def likeliest_class(footprints: torch.Tensor, cells: list[int], classes: tuple[str, ...]) -> tuple[float, str]:
    """Of ``classes``, the one whose footprint probability averages highest over an object's columns, with that
    average: what the object stands on, or what stands on it."""
    return max((float(footprints[cells, CLASSES.index(c)].mean()), c) for c in classes)


def object_sharing(footprints: torch.Tensor, xy: torch.Tensor, cell_size: torch.Tensor, cls: str,
                   cells: list[int]) -> list[int]:
    """The columns of the class's object (:func:`class_objects` at ``NAMED_OBJECT_MIN_P``) that shares columns with
    an object (the desk under a lamp, the lamp on a desk); empty when none does."""
    shared = [o for o in class_objects(footprints[:, CLASSES.index(cls)], xy, cell_size, NAMED_OBJECT_MIN_P)
              if set(o) & set(cells)]
    return shared[0] if shared else []


def object_centre(footprint: torch.Tensor, xy: torch.Tensor, cells: list[int]) -> torch.Tensor:
    """Footprint-weighted mean position (float64 [2]) of an object's columns (``footprint`` [N] of its class)."""
    weights = footprint[cells].double()
    return (xy[cells].double() * weights[:, None]).sum(0) / weights.sum()


def distance_in_direction(centre: torch.Tensor, pose: tuple[float, float, float], sector: str) -> Optional[float]:
    """How far (m) a point lies from an asker at ``pose`` (map x, y, yaw) when it lies in the asked direction (within
    45° of it) and at least ``SITUATED_MIN_M`` away; None otherwise."""
    distance = math.dist((pose[0], pose[1]), centre.tolist())
    off = math.degrees(bearing((pose[0], pose[1]), pose[2], centre.numpy())) - SECTOR_ANGLES[sector]
    return distance if distance >= SITUATED_MIN_M and abs((off + 180.0) % 360.0 - 180.0) <= 45.0 else None


def distance_around(centre: torch.Tensor, pose: tuple[float, float, float]) -> Optional[float]:
    """How far (m) a point lies from an asker at ``pose`` when at least ``SITUATED_MIN_M`` away (not the object sat
    on); None otherwise."""
    distance = math.dist((pose[0], pose[1]), centre.tolist())
    return distance if distance >= SITUATED_MIN_M else None


def floor_objects(footprints: torch.Tensor, xy: torch.Tensor, cell_size: torch.Tensor
                  ) -> list[tuple[str, list[int], torch.Tensor]]:
    """The floor-standing objects the map holds, as (class, columns, centre [2], :func:`object_centre`): every
    class's :func:`class_objects`, less classes that never stand on the floor (a TV, a pillow) and objects standing
    on a support (:func:`stands_on_support`)."""
    out = []
    for cls in CLASSES:
        if CLASS_SPECS[cls].size is None:
            continue
        footprint = footprints[:, CLASSES.index(cls)]
        out += [(cls, cells, object_centre(footprint, xy, cells)) for cells in class_objects(footprint, xy, cell_size)
                if stands_on_floor(footprints, cells, cls)]
    return out


def stands_on_floor(footprints: torch.Tensor, cells: list[int], cls: str) -> bool:
    """Whether the class's object (``cells``) stands on the floor: its class does (a TV, a pillow never do) and, if
    it may stand on others too, it stands on no support (:func:`stands_on_support`)."""
    spec = CLASS_SPECS[cls]
    return spec.size is not None and (spec.on_size is None or not stands_on_support(footprints, cells, cls))


def offset_between(a: torch.Tensor, mid: torch.Tensor, b: torch.Tensor) -> Optional[float]:
    """How far (m) ``mid`` lies from the line a–b when it projects onto the middle 70 % of it within
    ``BETWEEN_OFFSET_M`` (the data's "between"); None otherwise."""
    ab = b - a
    length2 = float(ab @ ab)
    if length2 < 1e-6:
        return None
    t = float((mid - a) @ ab) / length2
    offset = float(torch.linalg.norm(mid - (a + t * ab)))
    return offset if 0.15 <= t <= 0.85 and offset <= BETWEEN_OFFSET_M else None
