"""LEO-VL's five task families (plus simple planning) generated from a scene's ground truth (no rendering).

Object captioning, scene captioning, QA (existence, counting, colour, class, size, spatial relations, distance,
nearest/farthest), situated QA in SQA3D style (agent position + heading, answers relative to the agent),
multi-turn dialogue with follow-ups that refer back, and situated planning ('how do I get to the sofa?').
Agent poses are in the world frame (z up): position on the floor, heading as a quaternion (x, y, z, w) about +z
whose rotated +x axis is the facing direction; 'left' is counter-clockwise from it. Every answer is recomputed
from object boxes with the relations of :mod:`leovl_ros.sim.spatial`; questions whose answer is ambiguous (two
candidates within a margin, a referent that is not unique) are never emitted.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from leovl_ros.sim import spatial
from leovl_ros.sim import templates as T
from leovl_ros.sim.world import CLASSES

TASKS: tuple[str, ...] = ("object_caption", "scene_caption", "qa", "situated_qa", "dialogue", "planning")
"""The task families: LEO-VL's five plus simple situated planning ('how do I get to the sofa?')."""

QA_TYPES: tuple[str, ...] = (
    "existence", "counting", "colour", "class", "size", "spatial_relation", "distance", "nearest", "farthest",
)
"""Question types of the plain (non-situated) QA task."""

SITUATED_TYPES: tuple[str, ...] = ("situated_direction", "situated_object", "situated_counting")
"""Question types of situated QA: direction of an object (left/right/front/behind), object in a direction, count."""

SITTABLE: frozenset[str] = frozenset({"bed", "sofa", "chair", "toilet"})
"""Classes an agent can sit on (situation 'I am sitting on the bed')."""


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
    """Identifier unique within the dataset."""

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


def scene_id_for(seed: int) -> str:
    """Scene identifier of a synthetic scene seed (ScanNet-like, sortable)."""
    return f"synth{int(seed):06d}"


def seed_for_scene_id(scene_id: str) -> int | None:
    """The seed of a synthetic scene id (inverse of :func:`scene_id_for`), None for any other id."""
    digits = scene_id.removeprefix("synth")
    return int(digits) if digits != scene_id and digits.isdigit() else None


@dataclass
class _Place:
    """A referable landmark that is not an object (a door or a window)."""

    kind: str
    """'door' or 'window'."""
    center: np.ndarray
    """(2,) centre of the opening on its wall, floor plane."""
    inward: np.ndarray
    """(2,) unit normal of its wall pointing into the room."""


class _Facts:
    """Per-scene lookups shared by all generators: classes, colours, referring expressions, relations."""

    def __init__(self, scene, config: TaskConfig, seen_objects: Iterable[int] | None) -> None:
        self.scene = scene
        self.cfg = config
        self.objects = list(scene.objects)
        self.by_id = {o.id: o for o in self.objects}
        self.seen_ids = {o.id for o in self.objects} if seen_objects is None else set(seen_objects)
        self.seen = [o for o in self.objects if o.id in self.seen_ids]
        self.by_class: dict[str, list] = defaultdict(list)
        for o in self.objects:
            self.by_class[o.cls].append(o)
        self.class_colour = Counter((o.cls, o.colour) for o in self.objects)
        self.colour_count = Counter(o.colour for o in self.objects)
        self.children: dict[int, list] = defaultdict(list)
        for o in self.objects:
            if o.support is not None:
                self.children[o.support].append(o)
        self.places = _places(scene)
        self.place_count = Counter(p.kind for p in self.places)
        self._gaps: dict[tuple[int, int], float] = {}
        self._neighbours: dict[int, object | None] = {}

    def gap(self, a, b) -> float:
        """Footprint gap of two objects (memoised: many generators ask for the same pairs)."""
        key = (min(a.id, b.id), max(a.id, b.id))
        if key not in self._gaps:
            self._gaps[key] = spatial.gap(a, b)
        return self._gaps[key]

    def fully_seen(self, cls: str) -> bool:
        """Every instance of ``cls`` is among the seen objects (so counts are answerable)."""
        return all(o.id in self.seen_ids for o in self.by_class.get(cls, []))

    def stacked(self, a, b) -> bool:
        """One object stands on the other."""
        return a.support == b.id or b.support == a.id

    def ref(self, obj, rng: np.random.Generator | None, use_colour: bool = True, use_size: bool = True
            ) -> str | None:
        """A unique referring expression ('the red chair', 'the lamp on the desk', 'the largest box') or None.

        With ``rng`` class names are drawn from synonyms; without, canonical names are used (captions).
        ``use_colour``/``use_size`` = False leave out expressions that would give away a colour/size answer.
        """
        name = (lambda c: T.synonym(c, rng)) if rng is not None else (lambda c: c)
        colour = (lambda c: T.colour_word(c, rng)) if rng is not None else (lambda c: c)
        if len(self.by_class[obj.cls]) == 1:
            return f"the {name(obj.cls)}"
        if use_colour and self.class_colour[(obj.cls, obj.colour)] == 1:
            return f"the {colour(obj.colour)} {name(obj.cls)}"
        if obj.support is not None:
            base = self.by_id[obj.support]
            same = [o for o in self.children[base.id] if o.cls == obj.cls]
            if len(same) == 1 and len(self.by_class[base.cls]) == 1:
                return f"the {name(obj.cls)} on the {name(base.cls)}"
        siblings = [o for o in self.by_class[obj.cls] if o.id != obj.id]
        nb = self.neighbour(obj)
        if nb is not None and len(self.by_class[nb.cls]) == 1 and all(
            self.gap(o, nb) > self.cfg.far_gap for o in siblings
        ):
            return f"the {name(obj.cls)} next to the {name(nb.cls)}"
        for p in self.places:
            if (self.place_count[p.kind] == 1 and spatial.point_gap(p.center, obj) < 1.0
                    and all(spatial.point_gap(p.center, o) > 2.0 for o in siblings)):
                return f"the {name(obj.cls)} near the {name(p.kind)}"
        vol = spatial.volume(obj)
        if not use_size:
            return None
        if all(vol > self.cfg.size_ratio * spatial.volume(o) for o in siblings):
            return f"the {'largest' if len(siblings) > 1 else 'bigger'} {name(obj.cls)}"
        if all(self.cfg.size_ratio * vol < spatial.volume(o) for o in siblings):
            return f"the {'smallest' if len(siblings) > 1 else 'smaller'} {name(obj.cls)}"
        return None

    def neighbour(self, target) -> object | None:
        """The object next to ``target`` (smallest footprint gap ≤ next_to_gap, unique by margin), or None."""
        if target.id not in self._neighbours:
            others = [o for o in self.objects if o.id != target.id and not self.stacked(o, target)]
            gaps = {o.id: self.gap(o, target) for o in others}
            best = spatial.unique_extreme(gaps, {o.id: o.cls for o in others}, self.cfg.distance_margin, False)
            ok = best is not None and gaps[best] <= self.cfg.next_to_gap
            self._neighbours[target.id] = self.by_id[best] if ok else None
        return self._neighbours[target.id]

    def place_ref(self, place: _Place, rng: np.random.Generator | None) -> str | None:
        """'the window' when it is the only one of its kind, else None."""
        if self.place_count[place.kind] != 1:
            return None
        return f"the {T.synonym(place.kind, rng) if rng is not None else place.kind}"

    def referable(self, rng: np.random.Generator, use_colour: bool = True, use_size: bool = True
                  ) -> list[tuple[object, str]]:
        """Seen objects with a unique referring expression, as (object, phrase)."""
        out = []
        for o in self.seen:
            r = self.ref(o, rng, use_colour, use_size)
            if r is not None:
                out.append((o, r))
        return out


def _places(scene) -> list[_Place]:
    """Doors and windows of the room, each with its floor-plane centre and inward-pointing unit normal."""
    room = scene.room
    out = []
    for op in room.openings:
        center = room.wall_point(op.wall, op.center)
        inward = room.wall_point(op.wall, op.center, 1.0) - center
        out.append(_Place(kind=op.kind, center=np.asarray(center, dtype=float), inward=inward))
    return out


# --------------------------------------------------------------------------------------------------- QA generators
_Gen = Callable[[_Facts, np.random.Generator], list[Sample]]


def _qa(qtype: str, question: str, answer: str, ids: Iterable[int]) -> Sample:
    """A plain QA sample (ids filled in later)."""
    return Sample(task="qa", question_type=qtype, question=question, answers=[answer], object_ids=list(ids))


def _shuffled(items: list, rng: np.random.Generator) -> list:
    """A new list with ``items`` in random order."""
    return [items[i] for i in rng.permutation(len(items))]


def _interleave(a: list, b: list) -> list:
    """a0, b0, a1, b1, … then the rest (keeps yes and no balanced in any prefix)."""
    out = []
    for i in range(max(len(a), len(b))):
        out.extend(x[i] for x in (a, b) if i < len(x))
    return out


def _mix(groups: dict[str, list[Sample]], rng: np.random.Generator) -> list[Sample]:
    """Round-robin over the groups in random order, so any prefix mixes the sub-kinds.

    Each group is shuffled; a group of yes/no questions alternates yes and no instead.
    """
    lists = [_yes_no_group(g, rng) if g and all(s.is_yes_no for s in g) else _shuffled(g, rng)
             for g in (groups[k] for k in _shuffled(sorted(groups), rng))]
    out: list[Sample] = []
    for i in range(max((len(v) for v in lists), default=0)):
        out.extend(v[i] for v in lists if i < len(v))
    return out


def _yes_no_group(samples: list[Sample], rng: np.random.Generator) -> list[Sample]:
    """Yes/no samples alternating yes and no (random start), so a prefix is balanced."""
    yes = _shuffled([s for s in samples if s.answers[0] == T.YES], rng)
    no = _shuffled([s for s in samples if s.answers[0] == T.NO], rng)
    return _interleave(yes, no) if rng.random() < 0.5 else _interleave(no, yes)


def _existence(f: _Facts, rng: np.random.Generator) -> list[Sample]:
    """'Is there a sofa?' — positives from seen classes, negatives from classes absent from the scene."""
    present = sorted({o.cls for o in f.seen})
    absent = sorted(set(CLASSES) - set(f.by_class))

    def ask(cls: str, ans: str) -> Sample:
        name = T.synonym(cls, rng)
        q = T.fill("existence", rng, a_cls=T.with_article(name), cls_pl=T.plural(name))
        return _qa("existence", q, ans, [o.id for o in f.by_class.get(cls, [])])

    pos = [ask(c, T.YES) for c in _shuffled(present, rng)]
    neg = [ask(c, T.NO) for c in _shuffled(absent, rng)]
    return _interleave(pos, neg) if rng.random() < 0.5 else _interleave(neg, pos)


def _counting(f: _Facts, rng: np.random.Generator) -> list[Sample]:
    """'How many chairs are there?' for classes whose instances were all seen."""
    groups: dict[str, list[Sample]] = defaultdict(list)
    for cls in sorted({o.cls for o in f.seen}):
        if f.fully_seen(cls):
            name = T.synonym(cls, rng)
            q = T.fill("counting", rng, cls_pl=T.plural(name))
            n = T.count_word(len(f.by_class[cls]))
            groups[n].append(_qa("counting", q, n, [o.id for o in f.by_class[cls]]))
    return _mix(groups, rng)


def _colour(f: _Facts, rng: np.random.Generator) -> list[Sample]:
    """'What colour is the lamp on the desk?' — the referent must be unique without naming its colour."""
    return [
        _qa("colour", T.fill("colour", rng, ref=r), o.colour, [o.id])
        for o, r in _shuffled(f.referable(rng, use_colour=False), rng)
    ]


def _class(f: _Facts, rng: np.random.Generator) -> list[Sample]:
    """'What is on the desk?' / 'What is the green object?'."""
    groups: dict[str, list[Sample]] = defaultdict(list)
    for base, r in f.referable(rng):
        kids = [k for k in f.children.get(base.id, []) if k.id in f.seen_ids]
        if kids and len({k.cls for k in f.children[base.id]}) == 1:
            groups["on"].append(_qa("class", T.fill("class_on", rng, ref=r), kids[0].cls, [k.id for k in kids]))
        kid_colours = Counter(k.colour for k in f.children.get(base.id, []))
        for k in kids:
            if kid_colours[k.colour] == 1 and f.colour_count[k.colour] > 1:
                q = T.fill("class_colour_on", rng, colour=T.colour_word(k.colour, rng), ref=r)
                groups["colour_on"].append(_qa("class", q, k.cls, [k.id, base.id]))
    floor_colours = Counter(o.colour for o in f.objects if o.support is None)
    for o in f.seen:
        if f.colour_count[o.colour] == 1:
            q = T.fill("class_colour", rng, colour=T.colour_word(o.colour, rng))
            groups["colour"].append(_qa("class", q, o.cls, [o.id]))
        elif o.support is None and floor_colours[o.colour] == 1:
            q = T.fill("class_colour_floor", rng, colour=T.colour_word(o.colour, rng))
            groups["colour_floor"].append(_qa("class", q, o.cls, [o.id]))
    vols = {o.id: spatial.volume(o) for o in f.objects}
    classes = {o.id: o.cls for o in f.objects}
    for key, largest in (("class_largest", True), ("class_smallest", False)):
        best = spatial.unique_extreme(vols, classes, 0.0, largest)
        if best is None or best not in f.seen_ids:
            continue
        rivals = [v for i, v in vols.items() if classes[i] != classes[best]]
        if not rivals:
            continue
        ratio = vols[best] / max(rivals) if largest else min(rivals) / vols[best]
        if ratio >= f.cfg.size_ratio:
            groups[key].append(_qa("class", T.fill(key, rng), classes[best], [best]))
    return _mix(groups, rng)


def _size(f: _Facts, rng: np.random.Generator) -> list[Sample]:
    """Bigger/smaller of two objects (volume ratio margin), the tallest object, and the yes/no variant."""
    cfg = f.cfg
    refs = f.referable(rng, use_size=False)
    groups: dict[str, list[Sample]] = defaultdict(list)
    for i, (a, ra) in enumerate(refs):
        for b, rb in refs[i + 1 :]:
            if a.cls == b.cls:
                continue
            va, vb = spatial.volume(a), spatial.volume(b)
            if max(va, vb) < cfg.size_ratio * min(va, vb):
                continue
            big, small = (a, b) if va > vb else (b, a)
            r1, r2 = (ra, rb) if rng.random() < 0.5 else (rb, ra)
            kind = int(rng.integers(3))
            if kind == 0:
                groups["bigger"].append(_qa("size", T.fill("size_bigger", rng, ref=r1, ref2=r2), big.cls, [a.id, b.id]))
            elif kind == 1:
                q = T.fill("size_smaller", rng, ref=r1, ref2=r2)
                groups["smaller"].append(_qa("size", q, small.cls, [a.id, b.id]))
            else:
                first = a if r1 == ra else b
                ans = T.YES if first is big else T.NO
                groups["yes_no"].append(_qa("size", T.fill("size_yes_no", rng, ref=r1, ref2=r2), ans, [a.id, b.id]))
    tallest = spatial.unique_extreme(
        {o.id: float(o.size[2]) for o in f.objects}, {o.id: o.cls for o in f.objects}, cfg.height_margin, True
    )
    if tallest is not None and tallest in f.seen_ids:
        groups["tallest"].append(_qa("size", T.fill("size_tallest", rng), f.by_id[tallest].cls, [tallest]))
    return _mix(groups, rng)


def _spatial(f: _Facts, rng: np.random.Generator) -> list[Sample]:
    """Left/right from a door or window, what an object stands on, next to, between, and 'is A next to B?'."""
    cfg = f.cfg
    refs = f.referable(rng)
    groups: dict[str, list[Sample]] = defaultdict(list)
    for place in f.places:
        pref = f.place_ref(place, rng)
        if pref is None:
            continue
        viewer = place.center + 0.3 * place.inward
        yaw = math.atan2(place.inward[1], place.inward[0])
        for i, (a, ra) in enumerate(refs):
            for b, rb in refs[i + 1 :]:
                if a.cls == b.cls or f.stacked(a, b):
                    continue
                rel = spatial.viewpoint_left_right(viewer, yaw, a.center, b.center, cfg.lateral_margin)
                if rel is not None:
                    q = T.fill("spatial_viewpoint", rng, place=pref[4:], ref=ra, ref2=rb)
                    groups["viewpoint"].append(_qa("spatial_relation", q, rel, [a.id, b.id]))
    for o, r in refs:
        if o.support is not None:
            q = T.fill("spatial_support", rng, ref=r)
            groups["support"].append(_qa("spatial_relation", q, f.by_id[o.support].cls, [o.id, o.support]))
        nb = f.neighbour(o)
        if nb is not None and nb.id in f.seen_ids:
            q = T.fill("spatial_next_to", rng, ref=r)
            groups["next_to"].append(_qa("spatial_relation", q, nb.cls, [o.id, nb.id]))
    for i, (a, ra) in enumerate(refs):
        for c, rc in refs[i + 1 :]:
            if a.cls == c.cls or f.stacked(a, c):
                continue
            mids = [m for m in f.objects if m.cls not in (a.cls, c.cls) and not f.stacked(m, a)
                    and not f.stacked(m, c) and m.support is None and spatial.between(a.center, m.center, c.center)]
            if mids and len({m.cls for m in mids}) == 1 and all(m.id in f.seen_ids for m in mids):
                q = T.fill("spatial_between", rng, ref=ra, ref2=rc)
                groups["between"].append(_qa("spatial_relation", q, mids[0].cls, [a.id, c.id] + [m.id for m in mids]))
            g = f.gap(a, c)
            if g <= cfg.next_to_gap or g >= cfg.far_gap:
                q = T.fill("spatial_next_to_yes_no", rng, ref=ra, ref2=rc)
                ans = T.YES if g <= cfg.next_to_gap else T.NO
                groups["yes_no"].append(_qa("spatial_relation", q, ans, [a.id, c.id]))
    return _mix(groups, rng)


def _distance(f: _Facts, rng: np.random.Generator) -> list[Sample]:
    """'How far is the bed from the door?' — centre-to-centre on the floor plan, rounded to 0.5 m."""
    landmarks: list[tuple[object, str, np.ndarray, list[int]]] = [
        (o, r, o.center, [o.id]) for o, r in f.referable(rng)
    ]
    landmarks += [(p, r, p.center, []) for p in f.places if (r := f.place_ref(p, rng)) is not None]
    out = []
    for i, (a, ra, ca, ia) in enumerate(landmarks):
        for b, rb, cb, ib in landmarks[i + 1 :]:
            if not ia and not ib:
                continue
            if ia and ib and (f.stacked(a, b) or a.cls == b.cls):
                continue
            d = spatial.round_half(spatial.centre_distance(ca, cb), f.cfg.rounding_tolerance)
            if d is None or d < 0.5:
                continue
            r1, r2 = (ra, rb) if rng.random() < 0.5 else (rb, ra)
            out.append(_qa("distance", T.fill("distance", rng, ref=r1, ref2=r2), T.metres(d), ia + ib))
    return _shuffled(out, rng)


def _extreme(qtype: str, largest: bool) -> _Gen:
    """Generator for nearest (``largest=False``) or farthest object from an object, door or window."""

    def gen(f: _Facts, rng: np.random.Generator) -> list[Sample]:
        targets: list[tuple[object | None, str, np.ndarray]] = [(o, r, o.center) for o, r in f.referable(rng)]
        targets += [(None, r, p.center) for p in f.places if (r := f.place_ref(p, rng)) is not None]
        out = []
        for t, r, c in targets:
            others = [o for o in f.objects if t is None or (o.cls != t.cls and not f.stacked(o, t))]
            dists = {o.id: spatial.centre_distance(o, c) for o in others}
            best = spatial.unique_extreme(dists, {o.id: o.cls for o in others}, f.cfg.distance_margin, largest)
            if best is None or best not in f.seen_ids:
                continue
            ids = ([t.id] if t is not None else []) + [best]
            out.append(_qa(qtype, T.fill(qtype, rng, ref=r), f.by_id[best].cls, ids))
        return _shuffled(out, rng)

    return gen


QA_GENERATORS: dict[str, _Gen] = {
    "existence": _existence,
    "counting": _counting,
    "colour": _colour,
    "class": _class,
    "size": _size,
    "spatial_relation": _spatial,
    "distance": _distance,
    "nearest": _extreme("nearest", largest=False),
    "farthest": _extreme("farthest", largest=True),
}
"""Question type → candidate generator (each returns unambiguous candidates in random order)."""


# ----------------------------------------------------------------------------------------------------- situated QA
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


def _free(f: _Facts, p: np.ndarray, clearance: float = 0.25) -> bool:
    """Whether a floor point is inside the room and clear of every floor-standing object."""
    size = np.asarray(f.scene.room.size, dtype=float)
    if not (clearance <= p[0] <= size[0] - clearance and clearance <= p[1] <= size[1] - clearance):
        return False
    return all(spatial.point_gap(p, o) > clearance for o in f.objects if o.support is None)


def _sample_situation(f: _Facts, rng: np.random.Generator) -> Situation | None:
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
    text = T.fill("situation_sitting" if sitting else "situation_standing", rng, ref=aref, ref2=gref)
    return Situation(text, np.array([pos[0], pos[1], 0.0]), yaw, anchor.id if sitting else None, goal_id)


def _situated_candidates(f: _Facts, s: Situation, rng: np.random.Generator) -> dict[str, list[Sample]]:
    """Direction, object-in-direction and counting questions relative to the agent of ``s``."""
    cfg = f.cfg
    under = {s.sitting_on} if s.sitting_on is not None else set()
    others = [o for o in f.objects if o.id not in under and o.support not in under
              and spatial.centre_distance(o, s.position) >= 0.5]
    sectors = {o.id: spatial.sector(s.position, s.yaw, o.center, cfg.angle_margin_deg) for o in others}
    rotation = spatial.yaw_to_quaternion_xyzw(s.yaw)
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
                add("situated_direction", side, T.fill("situated_side", rng, ref=r), side, [o.id])
        elif sectors[o.id] is not None:
            add("situated_direction", sectors[o.id], T.fill("situated_sector", rng, ref=r), sectors[o.id], [o.id])
    near = [o for o in others if spatial.centre_distance(o, s.position) <= cfg.situated_range]
    for name in spatial.SECTORS:
        # Nearest floor object in the sector; objects within the margin of its borders count as candidates
        # too, so a different-class object that might be 'in' the sector must be farther by the margin.
        off = {o.id: spatial.sector_offset(s.position, s.yaw, o.center, name) for o in near if o.support is None}
        cand = [o for o in near if o.id in off and off[o.id] < 45.0 + cfg.angle_margin_deg]
        dists = {o.id: spatial.centre_distance(o, s.position) for o in cand}
        best = spatial.unique_extreme(dists, {o.id: o.cls for o in cand}, cfg.distance_margin, False)
        if best is not None and off[best] <= 45.0 - cfg.angle_margin_deg and best in f.seen_ids:
            where = T.choose(rng, T.SITUATED_PLACES[name])
            add("situated_object", name, T.fill("situated_object", rng, where=where), f.by_id[best].cls, [best])
    for cls in sorted({o.cls for o in others}):
        inst = [o for o in others if o.cls == cls]
        if len(inst) != len(f.by_class[cls]) or not f.fully_seen(cls) or any(sectors[o.id] is None for o in inst):
            continue
        occupied = sorted({sectors[o.id] for o in inst})
        name = T.choose(rng, occupied if rng.random() < 0.75 else spatial.SECTORS)
        n = sum(sectors[o.id] == name for o in inst)
        q = T.fill("situated_count", rng, cls_pl=T.plural(T.synonym(cls, rng)),
                   where=T.choose(rng, T.SITUATED_PLACES[name]))
        add("situated_counting", T.count_word(n), q, T.count_word(n), [o.id for o in inst if sectors[o.id] == name])
    return {k: _mix(v, rng) for k, v in groups.items()}


def _clear_path(f: _Facts, start: np.ndarray, target, clearance: float = 0.15) -> bool:
    """Whether the straight floor path from ``start`` to ``target`` passes clear of every other floor object."""
    path = start[:2] + np.linspace(0.0, 1.0, 25)[:, None] * (spatial.xy(target) - start[:2])
    path = path[: int(np.argmax(spatial.points_gap(path, target) == 0.0)) or len(path)]
    return all(spatial.points_gap(path, o).min() >= clearance
               for o in f.objects if o.support is None and o.id != target.id)


def _planning(f: _Facts, s: Situation, rng: np.random.Generator, limit: int) -> list[Sample]:
    """'How do I get to the sofa?' → first action (go straight / turn left / turn right / turn around) and the
    straight-line walking distance to the object's footprint, for targets reachable without obstacles."""
    cfg = f.cfg
    out = []
    for o, r in _shuffled(f.referable(rng), rng):
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
        out.append(Sample(task="planning", question_type="planning", question=T.fill("planning", rng, ref=r),
                          answers=[f"{action} and walk {T.metres(d)}"], situation=s.text,
                          position=s.position.copy(), rotation_xyzw=spatial.yaw_to_quaternion_xyzw(s.yaw),
                          object_ids=[o.id]))
    return out


# ------------------------------------------------------------------------------------------------------- captions
def _object_caption_text(f: _Facts, o, variant: int) -> str:
    """'a red chair next to the brown table, near the window' (canonical names; ``variant`` reorders parts)."""
    parts = []
    if o.support is not None:
        base = f.by_id[o.support]
        parts.append(f"on the {base.colour} {base.cls}")
    kids = [k for k in f.children.get(o.id, []) if k.id in f.seen_ids]
    if kids:
        k = kids[0]
        parts.append(f"with {T.with_article(k.colour + ' ' + k.cls)} on it")
    nb = f.neighbour(o)
    if nb is not None and nb.id in f.seen_ids:
        parts.append(f"next to the {nb.colour} {nb.cls}")
    for p in f.places:
        if spatial.point_gap(p.center, o) < 1.0:
            parts.append(f"near the {p.kind}")
            break
    size = np.asarray(f.scene.room.size, dtype=float)
    c = spatial.xy(o)
    wall = np.minimum(c, size - c)
    if (wall < 0.9).all():
        parts.append("in a corner of the room")
    elif (wall > 1.2).all():
        parts.append("in the middle of the room")
    elif o.support is None:
        parts.append("against the wall")
    if variant % 2 == 1 and len(parts) > 1:
        parts = parts[1:] + parts[:1]
    head = T.with_article(f"{o.colour} {o.cls}")
    return head + (" " + ", ".join(parts[:3]) if parts else "")


def _object_captions(f: _Facts, rng: np.random.Generator) -> list[Sample]:
    """'Describe the red chair.' → a short description with colour, support, neighbour and location."""
    out = []
    for o, r in _shuffled(f.referable(rng), rng)[: f.cfg.object_captions]:
        refs = list(dict.fromkeys(_object_caption_text(f, o, v) for v in range(2)))
        out.append(Sample(task="object_caption", question_type="object_caption",
                          question=T.fill("object_caption", rng, ref=r), answers=refs, object_ids=[o.id]))
    return out


def _list_phrase(items: list[str]) -> str:
    """'a, b and c'."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _scene_caption_text(f: _Facts, variant: int) -> str:
    """Room size and kind, main seen objects (largest classes first) and two layout facts, ~20-40 words."""
    w, d = (float(v) for v in f.scene.room.size)
    area = w * d
    kind = ("small" if area < 12 else ("large" if area > 25 else "medium-sized")) + " " + f.scene.room.kind
    seen: dict[str, list] = defaultdict(list)
    for o in f.seen:
        seen[o.cls].append(o)
    classes = sorted(seen, key=lambda c: (-max(spatial.volume(o) for o in seen[c]), c))
    counted = [T.with_article(c) if len(seen[c]) == 1 else f"{T.count_word(len(seen[c]))} {T.plural(c)}"
               for c in classes[:6]]
    first = (f"This is a {kind} of about {round(w)} by {round(d)} meters with {_list_phrase(counted)}."
             if variant == 0 else
             f"A {kind}, roughly {round(w)} by {round(d)} meters, containing {_list_phrase(counted)}.")
    facts = []
    unique = [o for o in f.seen if len(f.by_class[o.cls]) == 1]
    for o in unique:
        if o.support is not None and len(f.by_class[f.by_id[o.support].cls]) == 1:
            facts.append(f"The {o.cls} is on the {f.by_id[o.support].cls}.")
            break
    for p in f.places:
        near = sorted(unique, key=lambda o: spatial.point_gap(p.center, o))
        if near and spatial.point_gap(p.center, near[0]) < 1.5:
            facts.append(f"The {near[0].cls} is near the {p.kind}.")
            break
    return " ".join([first] + facts)


def _scene_captions(f: _Facts, rng: np.random.Generator) -> list[Sample]:
    """'Describe the room.' → the scene caption (two reference phrasings)."""
    if not f.seen:
        return []
    refs = [_scene_caption_text(f, v) for v in range(2)]
    return [Sample(task="scene_caption", question_type="scene_caption", question=T.fill("scene_caption", rng),
                   answers=refs, object_ids=[o.id for o in f.seen])]


# ------------------------------------------------------------------------------------------------------- dialogue
def _dialogue(f: _Facts, cls: str, rng: np.random.Generator) -> list[Sample]:
    """A 2-3 turn dialogue about one class/object; one sample per follow-up turn with the history before it."""
    name = T.synonym(cls, rng)
    turns: list[tuple[str, str, str, list[int]]] = []
    inst = f.by_class[cls]
    if len(inst) == 1:
        o = inst[0]
        if f.colour_count[o.colour] == 1 and rng.random() < 0.5:
            turns.append((T.fill("opener_class_colour", rng, colour=T.colour_word(o.colour, rng)), o.cls, "class",
                          [o.id]))
        else:
            turns.append((T.fill("opener_existence", rng, a_cls=T.with_article(name)), T.YES, "existence", [o.id]))
            turns.append((T.fill("followup_colour", rng), o.colour, "colour", [o.id]))
        if o.support is not None:
            turns.append((T.fill("followup_support", rng), f.by_id[o.support].cls, "spatial_relation",
                          [o.id, o.support]))
        else:
            nb = f.neighbour(o)
            if nb is not None and nb.id in f.seen_ids:
                turns.append((T.fill("followup_next_to", rng), nb.cls, "spatial_relation", [o.id, nb.id]))
    elif f.fully_seen(cls):
        turns.append((T.fill("opener_existence", rng, a_cls=T.with_article(name)), T.YES, "existence",
                      [o.id for o in inst]))
        turns.append((T.fill("followup_count", rng), T.count_word(len(inst)), "counting", [o.id for o in inst]))
    out = []
    for k in range(1, len(turns)):
        q, a, qtype, ids = turns[k]
        out.append(Sample(task="dialogue", question_type=qtype, question=q, answers=[a], object_ids=ids,
                          history=[(tq, ta) for tq, ta, _, _ in turns[:k]]))
    return out


# ------------------------------------------------------------------------------------------------------ assembly
def cap_yes_no(samples: list[Sample], max_share: float) -> list[Sample]:
    """Drop yes/no samples (latest first) until their share among question samples is at most ``max_share``."""
    questions = [s for s in samples if s.task in ("qa", "situated_qa", "dialogue")]
    n_yn = sum(s.is_yes_no for s in questions)
    n = len(questions)
    drop: set[int] = set()
    for s in reversed(samples):
        if n == 0 or n_yn <= max_share * n:
            break
        if s.task in ("qa", "situated_qa", "dialogue") and s.is_yes_no:
            drop.add(id(s))
            n_yn -= 1
            n -= 1
    return [s for s in samples if id(s) not in drop]


def generate_samples(
    scene, rng: np.random.Generator | int, config: TaskConfig | None = None, seen_objects: Iterable[int] | None = None
) -> list[Sample]:
    """All task families for one scene, balanced across question types, yes/no share capped.

    ``seen_objects`` (ids visible in a rendered sequence) restricts questions to what the model could have
    seen; uniqueness of references and negatives for existence still use the whole scene.
    """
    cfg = config or TaskConfig()
    rng = np.random.default_rng(rng)
    f = _Facts(scene, cfg, seen_objects)
    out: list[Sample] = []
    for qtype in QA_TYPES:
        out.extend(QA_GENERATORS[qtype](f, rng)[: cfg.qa_per_type])
    for _ in range(cfg.situations):
        s = _sample_situation(f, rng)
        if s is not None:
            for qs in _situated_candidates(f, s, rng).values():
                out.extend(qs[: cfg.situated_per_type])
            out.extend(_planning(f, s, rng, cfg.planning_per_situation))
    out.extend(_object_captions(f, rng))
    out.extend(_scene_captions(f, rng)[: cfg.scene_captions])
    for cls in _shuffled(sorted({o.cls for o in f.seen}), rng)[: cfg.dialogues]:
        out.extend(_dialogue(f, cls, rng))
    out = cap_yes_no(out, cfg.max_yes_no_share)
    sid = scene_id_for(scene.seed)
    counters: Counter[str] = Counter()
    for s in out:
        s.scene_id = sid
        s.object_names = [f.by_id[i].cls for i in s.object_ids]
        key = f"{s.task}_{s.question_type}"
        s.question_id = f"{sid}_{key}_{counters[key]}"
        counters[key] += 1
    return out
