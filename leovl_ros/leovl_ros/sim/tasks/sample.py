"""The sample data model of the task generators: task and question-type names, :class:`Sample`, :class:`TaskConfig`
and scene ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from leovl_ros.sim import templates as T

TASKS: tuple[str, ...] = ("object_caption", "scene_caption", "qa", "situated_qa", "dialogue", "planning")
"""The task families: LEO-VL's five plus simple situated planning ('how do I get to the sofa?')."""

QA_TYPES: tuple[str, ...] = (
    "existence", "counting", "colour", "class", "size", "spatial_relation", "distance", "nearest", "farthest",
    "last_seen",
)
"""Question types of the plain (non-situated) QA task."""

SITUATED_TYPES: tuple[str, ...] = ("situated_direction", "situated_object", "situated_counting")
"""Question types of situated QA: direction of an object (left/right/front/behind), object in a direction, count."""


@dataclass
class Sample:
    """One training/evaluation sample: a question (or caption request) about a scene and its reference answers."""

    task: str
    """One of :data:`TASKS`."""
    question_type: str
    """QA/situated type (see :data:`QA_TYPES`, :data:`SITUATED_TYPES`), or the task name for captions."""
    question: str
    """The question or caption request, as the user would type it."""
    answers: list[str]
    """Reference answers; the first is the canonical training target (short for QA, long for captions)."""
    situation: str | None = None
    """SQA3D-style situation text ('I am sitting on the bed facing the tv.') or None."""
    position: np.ndarray | None = None
    """Agent position (3,) in the world frame (z up, z = 0 on the floor) for situated samples."""
    rotation_xyzw: np.ndarray | None = None
    """Agent heading as a quaternion (x, y, z, w) about +z (facing = rotated +x axis) for situated samples."""
    object_ids: list[int] = field(default_factory=list)
    """Ground-truth ids of the objects the question/answer is about (for grounding)."""
    history: list[tuple[str, str]] = field(default_factory=list)
    """Earlier (question, answer) turns of a dialogue, oldest first."""
    object_names: list[str] = field(default_factory=list)
    """Class names of ``object_ids`` (Beacon3D's ``object_names``)."""
    scene_id: str = ""
    """Identifier of the scene (see :func:`scene_id_for`)."""
    question_id: str = ""
    """Identifier unique within the dataset (the same fact asked in the other wording keeps its id)."""
    phrasing_family: str = ""
    """Id of the phrasing family of ``question`` (see :mod:`leovl_ros.sim.phrasing`), '' when not generated."""
    wording: str = ""
    """'seen' (a training family) or 'unseen' (a held-out family) for generated questions, else ''."""
    absent: bool = False
    """The question is about a class that is not in the room (answer 'there is no <class>' or 'zero')."""

    def __post_init__(self) -> None:
        family = getattr(self.question, "family", "")
        if family and not self.phrasing_family:
            self.phrasing_family = family
        self.question = str(self.question)
        if self.situation is not None:
            self.situation = str(self.situation)
        self.history = [(str(q), str(a)) for q, a in self.history]

    @property
    def is_yes_no(self) -> bool:
        """Whether the canonical answer is yes or no."""
        return self.answers[0] in (T.YES, T.NO)

    def to_json(self) -> dict:
        """JSON-serialisable dict (arrays as lists, history as [q, a] pairs)."""
        return {
            "task": self.task,
            "question_type": self.question_type,
            "question": self.question,
            "answers": list(self.answers),
            "situation": self.situation,
            "position": None if self.position is None else [float(v) for v in self.position],
            "rotation_xyzw": None if self.rotation_xyzw is None else [float(v) for v in self.rotation_xyzw],
            "object_ids": [int(i) for i in self.object_ids],
            "history": [[q, a] for q, a in self.history],
            "object_names": list(self.object_names),
            "scene_id": self.scene_id,
            "question_id": self.question_id,
            "phrasing_family": self.phrasing_family,
            "wording": self.wording,
            "absent": self.absent,
        }

    @classmethod
    def from_json(cls, d: dict) -> Sample:
        """Inverse of :meth:`to_json`."""
        return cls(
            task=d["task"],
            question_type=d["question_type"],
            question=d["question"],
            answers=list(d["answers"]),
            situation=d.get("situation"),
            position=None if d.get("position") is None else np.asarray(d["position"], dtype=float),
            rotation_xyzw=None if d.get("rotation_xyzw") is None else np.asarray(d["rotation_xyzw"], dtype=float),
            object_ids=[int(i) for i in d.get("object_ids", [])],
            history=[(q, a) for q, a in d.get("history", [])],
            object_names=list(d.get("object_names", [])),
            scene_id=d.get("scene_id", ""),
            question_id=d.get("question_id", ""),
            phrasing_family=d.get("phrasing_family", ""),
            wording=d.get("wording", ""),
            absent=bool(d.get("absent", False)),
        )


@dataclass
class TaskConfig:
    """How many samples of each kind to draw per scene and the margins that keep answers unambiguous."""

    qa_per_type: int = 3
    """QA questions per question type per scene (fewer when a scene supports fewer unambiguous ones)."""
    situations: int = 2
    """Agent situations per scene for situated QA."""
    situated_per_type: int = 2
    """Situated questions per situated question type per situation."""
    planning_per_situation: int = 1
    """Planning samples ('how do I get to the sofa?' → 'turn left and walk 1.5 meters') per situation."""
    object_captions: int = 3
    """Object captions per scene."""
    scene_captions: int = 1
    """Scene captions per scene."""
    dialogues: int = 2
    """Multi-turn dialogues per scene (each gives one sample per follow-up turn)."""
    max_yes_no_share: float = 0.25
    """Largest share of yes/no answers among a scene's question samples."""
    next_to_gap: float = 0.5
    """Footprint gap (m) below which two objects are 'next to' each other."""
    far_gap: float = 1.5
    """Footprint gap (m) above which two objects are clearly not next to each other."""
    distance_margin: float = 0.3
    """Metres by which a nearest/farthest/next-to answer must beat every object of another class."""
    lateral_margin: float = 0.3
    """Metres of lateral offset needed before one object counts as left/right of another from a viewpoint."""
    angle_margin_deg: float = 15.0
    """Degrees an object must keep from a direction-sector border for agent-relative answers."""
    size_ratio: float = 1.5
    """Volume ratio needed for bigger/smaller questions."""
    height_margin: float = 0.15
    """Metres by which the tallest object must beat every object of another class."""
    rounding_tolerance: float = 0.08
    """Distances within this many metres of a 0.5 m rounding boundary are not asked."""
    situated_range: float = 4.0
    """Objects farther than this from the agent (m) are left out of 'what is on my left'-style questions."""
    wording: str = "seen"
    """Phrasing families to draw: 'seen' (training; never a held-out family), 'unseen' (held-out families only,
    for the unseen-wording evaluation) or 'all'. The facts asked do not depend on it."""
    absent_share: float = 0.15
    """Expected share of colour, counting and spatial-relation questions about a class not in the room."""

    def __post_init__(self) -> None:
        if self.wording not in ("seen", "unseen", "all"):
            raise ValueError(f"wording must be 'seen', 'unseen' or 'all', got {self.wording!r}")
        if not 0.0 <= self.absent_share <= 1.0:
            raise ValueError(f"absent_share must be in [0, 1], got {self.absent_share}")


def scene_id_for(seed: int) -> str:
    """Scene identifier of a synthetic scene seed (ScanNet-like, sortable)."""
    return f"synth{int(seed):06d}"


def seed_for_scene_id(scene_id: str) -> int | None:
    """The seed of a synthetic scene id (inverse of :func:`scene_id_for`), None for any other id."""
    digits = scene_id.removeprefix("synth")
    return int(digits) if digits != scene_id and digits.isdigit() else None
