"""Situated QA in SQA3D style (agent position + heading, answers relative to the agent) and situated planning.

Agent poses are in the world frame (z up): position on the floor, heading as a quaternion (x, y, z, w) about +z
whose rotated +x axis is the facing direction; 'left' is counter-clockwise from it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from leovl_ros.geometry.transforms import yaw_to_quat_xyzw
from leovl_ros.sim import spatial
from leovl_ros.sim import templates as T
from leovl_ros.sim.tasks.facts import Facts
from leovl_ros.sim.tasks.mixing import mix, shuffled
from leovl_ros.sim.tasks.sample import Sample

SITTABLE: frozenset[str] = frozenset({"bed", "sofa", "chair", "toilet"})
"""Classes an agent can sit on (situation 'I am sitting on the bed')."""


@dataclass
class Situation:
    """An agent pose on the floor with the SQA3D-style text describing it."""

    text: str
    """'I am standing by the bed facing the tv.'"""
    position: np.ndarray
    """(3,) agent position on the floor (z = 0), world frame."""
    yaw: float
    """Heading about +z, radians (0 = facing +x)."""
    sitting_on: int | None
    """Id of the object the agent sits on (left out of the questions), or None when standing."""
    facing_id: int | None
    """Id of the object named as the one faced (left out of direction questions: trivially 'front'), or None."""


def _free(f: Facts, p: np.ndarray, clearance: float = 0.25) -> bool:
    """Whether a floor point is inside the room and clear of every floor-standing object."""
    size = np.asarray(f.scene.room.size, dtype=float)
    if not (clearance <= p[0] <= size[0] - clearance and clearance <= p[1] <= size[1] - clearance):
        return False
    return all(spatial.point_gap(p, o) > clearance for o in f.objects if o.support is None)


def sample_situation(f: Facts, rng: np.random.Generator) -> Situation | None:
    """Stand by (or sit on) a referable object and face another referable object or a door/window."""
    anchors = [(o, r) for o, r in f.referable(rng) if o.support is None]
    if not anchors:
        return None
    anchor, aref = anchors[int(rng.integers(len(anchors)))]
    sitting = anchor.cls in SITTABLE and rng.random() < 0.5
    if sitting:
        pos = spatial.xy(anchor).copy()
    else:
        pos = None
        reach = 0.5 * float(np.hypot(anchor.size[0], anchor.size[1])) + 0.5
        for ang in rng.uniform(-math.pi, math.pi, size=16):
            p = spatial.xy(anchor) + reach * spatial.heading(float(ang))
            if _free(f, p):
                pos = p
                break
        if pos is None:
            return None
    goals: list[tuple[np.ndarray, str, int | None]] = [
        (spatial.xy(o), r, o.id) for o, r in f.referable(rng)
        if o.id != anchor.id and spatial.centre_distance(o, pos) > 1.0
    ]
    goals += [(p.center, r, None) for p in f.places
              if (r := f.place_ref(p, rng)) is not None and spatial.centre_distance(p.center, pos) > 1.0]
    if not goals:
        return None
    goal, gref, goal_id = goals[int(rng.integers(len(goals)))]
    yaw = math.atan2(goal[1] - pos[1], goal[0] - pos[0])
    text = f.phr.fill("situation_sitting" if sitting else "situation_standing", ref=aref, ref2=gref)
    return Situation(text, np.array([pos[0], pos[1], 0.0]), yaw, anchor.id if sitting else None, goal_id)


def situated_candidates(f: Facts, s: Situation, rng: np.random.Generator) -> dict[str, list[Sample]]:
    """Direction, object-in-direction and counting questions relative to the agent of ``s``."""
    cfg = f.cfg
    under = {s.sitting_on} if s.sitting_on is not None else set()
    others = [o for o in f.objects if o.id not in under and o.support not in under
              and spatial.centre_distance(o, s.position) >= 0.5]
    sectors = {o.id: spatial.sector(s.position, s.yaw, o.center, cfg.angle_margin_deg) for o in others}
    rotation = yaw_to_quat_xyzw(s.yaw)
    groups: dict[str, dict[str, list[Sample]]] = defaultdict(lambda: defaultdict(list))

    def add(qtype: str, group: str, q: str, a: str, ids: list[int]) -> None:
        groups[qtype][group].append(Sample(task="situated_qa", question_type=qtype, question=q, answers=[a],
                                           situation=s.text, position=s.position.copy(),
                                           rotation_xyzw=rotation.copy(), object_ids=ids))

    other_ids = {o.id for o in others}
    for o, r in f.referable(rng):
        if o.id not in other_ids or o.id == s.facing_id:
            continue
        if rng.random() < 0.5:
            side = spatial.side(s.position, s.yaw, o.center, margin_deg=cfg.angle_margin_deg + 15.0)
            if side is not None:
                add("situated_direction", side, f.phr.fill("situated_side", ref=r), side, [o.id])
        elif sectors[o.id] is not None:
            add("situated_direction", sectors[o.id], f.phr.fill("situated_sector", ref=r), sectors[o.id], [o.id])
    near = [o for o in others if spatial.centre_distance(o, s.position) <= cfg.situated_range]
    for name in spatial.SECTORS:
        # Nearest floor object in the sector; objects within the margin of its borders count as candidates
        # too, so a different-class object that might be 'in' the sector must be farther by the margin.
        off = {o.id: spatial.sector_offset(s.position, s.yaw, o.center, name) for o in near if o.support is None}
        cand = [o for o in near if o.id in off and off[o.id] < 45.0 + cfg.angle_margin_deg]
        dists = {o.id: spatial.centre_distance(o, s.position) for o in cand}
        best = spatial.unique_extreme(dists, {o.id: o.cls for o in cand}, cfg.distance_margin, False)
        if best is not None and off[best] <= 45.0 - cfg.angle_margin_deg and best in f.seen_ids:
            where = f.phr.choose(T.SITUATED_PLACES[name])
            add("situated_object", name, f.phr.fill("situated_object", where=where), f.by_id[best].cls, [best])
    for cls in sorted({o.cls for o in others}):
        inst = [o for o in others if o.cls == cls]
        if len(inst) != len(f.by_class[cls]) or not f.fully_seen(cls) or any(sectors[o.id] is None for o in inst):
            continue
        occupied = sorted({sectors[o.id] for o in inst})
        name = T.choose(rng, occupied if rng.random() < 0.75 else spatial.SECTORS)
        n = sum(sectors[o.id] == name for o in inst)
        q = f.phr.fill("situated_count", cls_pl=T.plural(f.phr.synonym(cls)),
                   where=f.phr.choose(T.SITUATED_PLACES[name]))
        add("situated_counting", T.count_word(n), q, T.count_word(n), [o.id for o in inst if sectors[o.id] == name])
    return {k: mix(v, rng) for k, v in groups.items()}


def _clear_path(f: Facts, start: np.ndarray, target, clearance: float = 0.15) -> bool:
    """Whether the straight floor path from ``start`` to ``target`` passes clear of every other floor object."""
    path = start[:2] + np.linspace(0.0, 1.0, 25)[:, None] * (spatial.xy(target) - start[:2])
    path = path[: int(np.argmax(spatial.points_gap(path, target) == 0.0)) or len(path)]
    return all(spatial.points_gap(path, o).min() >= clearance
               for o in f.objects if o.support is None and o.id != target.id)


def planning(f: Facts, s: Situation, rng: np.random.Generator, limit: int) -> list[Sample]:
    """'How do I get to the sofa?' → first action (go straight / turn left / turn right / turn around) and the
    straight-line walking distance to the object's footprint, for targets reachable without obstacles."""
    cfg = f.cfg
    out = []
    for o, r in shuffled(f.referable(rng), rng):
        if len(out) >= limit:
            break
        if o.support is not None or o.id == s.sitting_on or spatial.point_gap(s.position, o) < 0.5:
            continue
        a = math.degrees(spatial.bearing(s.position, s.yaw, o.center))
        if abs(a) <= 20.0:
            action = "go straight"
        elif 40.0 <= abs(a) <= 140.0:
            action = "turn left" if a > 0 else "turn right"
        elif abs(a) >= 160.0:
            action = "turn around"
        else:
            continue
        d = spatial.round_half(spatial.point_gap(s.position, o), cfg.rounding_tolerance)
        if d is None or d < 0.5 or not _clear_path(f, s.position, o):
            continue
        out.append(Sample(task="planning", question_type="planning", question=f.phr.fill("planning", ref=r),
                          answers=[f"{action} and walk {T.metres(d)}"], situation=s.text,
                          position=s.position.copy(), rotation_xyzw=yaw_to_quat_xyzw(s.yaw),
                          object_ids=[o.id]))
    return out
