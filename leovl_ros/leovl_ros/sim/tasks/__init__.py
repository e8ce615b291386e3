"""LEO-VL's five task families (plus simple planning) generated from a scene's ground truth (no rendering).

Object captioning, scene captioning, QA (existence, counting, colour, class, size, spatial relations, distance,
nearest/farthest), situated QA in SQA3D style (agent position + heading, answers relative to the agent),
multi-turn dialogue with follow-ups that refer back, and situated planning ('how do I get to the sofa?').
Every answer is recomputed from object boxes with the relations of :mod:`leovl_ros.sim.spatial`; questions whose
answer is ambiguous (two candidates within a margin, a referent that is not unique) are never emitted.

Modules: :mod:`.sample` (the sample data model and config), :mod:`.facts` (per-scene lookups and referring
expressions), :mod:`.qa` (plain QA), :mod:`.situated` (situated QA and planning), :mod:`.captions`,
:mod:`.dialogue`, :mod:`.mixing` (ordering, yes/no balance and cap) and :mod:`.assemble` (:func:`generate_samples`).
"""

from __future__ import annotations

from leovl_ros.sim.tasks.assemble import generate_samples
from leovl_ros.sim.tasks.facts import Facts
from leovl_ros.sim.tasks.mixing import cap_yes_no
from leovl_ros.sim.tasks.qa import QA_GENERATORS
from leovl_ros.sim.tasks.sample import (
    QA_TYPES,
    SITUATED_TYPES,
    TASKS,
    Sample,
    TaskConfig,
    scene_id_for,
    seed_for_scene_id,
)
from leovl_ros.sim.tasks.situated import SITTABLE, Situation

__all__ = [
    "QA_GENERATORS", "QA_TYPES", "SITTABLE", "SITUATED_TYPES", "TASKS", "Facts", "Sample", "Situation", "TaskConfig",
    "cap_yes_no", "generate_samples", "scene_id_for", "seed_for_scene_id",
]
