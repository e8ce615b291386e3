"""Small hand-made maps for the measured answers' tests (``test_model_measure``, ``test_room_questions``)."""

from __future__ import annotations

from types import SimpleNamespace

import torch

from leovl_ros.model.measure import measured_answer
from leovl_ros.sim.scene import CLASSES


def measured_text(*args) -> str:
    """The answer :func:`measured_answer` gives."""
    return measured_answer(*args).text


def furnished_map(objects: list[tuple[str, list[tuple[float, float]]]]) -> SimpleNamespace:
    """A 0.3 m cell map whose column classifier sees ``objects`` (class, columns' xy) each at footprint 0.95; a
    column listed under two classes shows both (a lamp standing on a desk)."""
    cells = list(dict.fromkeys(xy for _, columns in objects for xy in columns))
    footprints = torch.zeros((len(cells), len(CLASSES)))
    for cls, columns in objects:
        for xy in columns:
            footprints[cells.index(xy), CLASSES.index(cls)] = 0.95
    return SimpleNamespace(xy=torch.tensor(cells), cell_size=torch.full((len(cells),), 0.3), footprints=footprints)
