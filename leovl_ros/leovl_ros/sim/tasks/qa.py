"""Plain QA generators: existence, counting, colour, class, size, spatial relations, distance, nearest/farthest.

Each generator returns unambiguous candidates in random order; answers are recomputed from object boxes.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable

import numpy as np

from leovl_ros.eval.normalize import ABSENT_PREFIX
from leovl_ros.sim import spatial
from leovl_ros.sim import templates as T
from leovl_ros.sim.scene import CLASSES
from leovl_ros.sim.tasks.facts import Facts
from leovl_ros.sim.tasks.mixing import interleave, mix, shuffled
from leovl_ros.sim.tasks.sample import Sample

QAGenerator = Callable[[Facts, np.random.Generator], list[Sample]]
"""A QA candidate generator: per-scene facts and an rng → unambiguous samples in random order."""


def _qa(qtype: str, question: str, answer: str, ids: Iterable[int]) -> Sample:
    """A plain QA sample (ids filled in later)."""
    return Sample(task="qa", question_type=qtype, question=question, answers=[answer], object_ids=list(ids))


def _existence(f: Facts, rng: np.random.Generator) -> list[Sample]:
    """'Is there a sofa?' — positives from seen classes, negatives from classes absent from the scene."""
    present = sorted({o.cls for o in f.seen})
    absent = sorted(set(CLASSES) - set(f.by_class))

    def ask(cls: str, ans: str) -> Sample:
        name = f.phr.synonym(cls)
        q = f.phr.fill("existence", a_cls=T.with_article(name), cls_pl=T.plural(name))
        return _qa("existence", q, ans, [o.id for o in f.by_class.get(cls, [])])

    pos = [ask(c, T.YES) for c in shuffled(present, rng)]
    neg = [ask(c, T.NO) for c in shuffled(absent, rng)]
    return interleave(pos, neg) if rng.random() < 0.5 else interleave(neg, pos)


def _counting(f: Facts, rng: np.random.Generator) -> list[Sample]:
    """'How many chairs are there?' for classes whose instances were all seen."""
    groups: dict[str, list[Sample]] = defaultdict(list)
    for cls in sorted({o.cls for o in f.seen}):
        if f.fully_seen(cls):
            name = f.phr.synonym(cls)
            q = f.phr.fill("counting", cls_pl=T.plural(name))
            n = T.count_word(len(f.by_class[cls]))
            groups[n].append(_qa("counting", q, n, [o.id for o in f.by_class[cls]]))
    return mix(groups, rng)


def _colour(f: Facts, rng: np.random.Generator) -> list[Sample]:
    """'What colour is the lamp on the desk?' — the referent must be unique without naming its colour."""
    return [
        _qa("colour", f.phr.fill("colour", ref=r), o.colour, [o.id])
        for o, r in shuffled(f.referable(rng, use_colour=False), rng)
    ]


def _class(f: Facts, rng: np.random.Generator) -> list[Sample]:
    """'What is on the desk?' / 'What is the green object?'."""
    groups: dict[str, list[Sample]] = defaultdict(list)
    for base, r in f.referable(rng):
        kids = [k for k in f.children.get(base.id, []) if k.id in f.seen_ids]
        if kids and len({k.cls for k in f.children[base.id]}) == 1:
            groups["on"].append(_qa("class", f.phr.fill("class_on", ref=r), kids[0].cls, [k.id for k in kids]))
        kid_colours = Counter(k.colour for k in f.children.get(base.id, []))
        for k in kids:
            if kid_colours[k.colour] == 1 and f.colour_count[k.colour] > 1:
                q = f.phr.fill("class_colour_on", colour=f.phr.colour(k.colour), ref=r)
                groups["colour_on"].append(_qa("class", q, k.cls, [k.id, base.id]))
    floor_colours = Counter(o.colour for o in f.objects if o.support is None)
    for o in f.seen:
        if f.colour_count[o.colour] == 1:
            q = f.phr.fill("class_colour", colour=f.phr.colour(o.colour))
            groups["colour"].append(_qa("class", q, o.cls, [o.id]))
        elif o.support is None and floor_colours[o.colour] == 1:
            q = f.phr.fill("class_colour_floor", colour=f.phr.colour(o.colour))
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
            groups[key].append(_qa("class", f.phr.fill(key), classes[best], [best]))
    return mix(groups, rng)


def _size(f: Facts, rng: np.random.Generator) -> list[Sample]:
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
                groups["bigger"].append(_qa("size", f.phr.fill("size_bigger", ref=r1, ref2=r2), big.cls, [a.id, b.id]))
            elif kind == 1:
                q = f.phr.fill("size_smaller", ref=r1, ref2=r2)
                groups["smaller"].append(_qa("size", q, small.cls, [a.id, b.id]))
            else:
                first = a if r1 == ra else b
                ans = T.YES if first is big else T.NO
                groups["yes_no"].append(_qa("size", f.phr.fill("size_yes_no", ref=r1, ref2=r2), ans, [a.id, b.id]))
    tallest = spatial.unique_extreme(
        {o.id: float(o.size[2]) for o in f.objects}, {o.id: o.cls for o in f.objects}, cfg.height_margin, True
    )
    if tallest is not None and tallest in f.seen_ids:
        groups["tallest"].append(_qa("size", f.phr.fill("size_tallest"), f.by_id[tallest].cls, [tallest]))
    return mix(groups, rng)


def _spatial(f: Facts, rng: np.random.Generator) -> list[Sample]:
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
                    q = f.phr.fill("spatial_viewpoint", place=pref[4:], ref=ra, ref2=rb)
                    groups["viewpoint"].append(_qa("spatial_relation", q, rel, [a.id, b.id]))
    for o, r in refs:
        if o.support is not None:
            q = f.phr.fill("spatial_support", ref=r)
            groups["support"].append(_qa("spatial_relation", q, f.by_id[o.support].cls, [o.id, o.support]))
        nb = f.neighbour(o)
        if nb is not None and nb.id in f.seen_ids:
            q = f.phr.fill("spatial_next_to", ref=r)
            groups["next_to"].append(_qa("spatial_relation", q, nb.cls, [o.id, nb.id]))
    for i, (a, ra) in enumerate(refs):
        for c, rc in refs[i + 1 :]:
            if a.cls == c.cls or f.stacked(a, c):
                continue
            mids = [m for m in f.objects if m.cls not in (a.cls, c.cls) and not f.stacked(m, a)
                    and not f.stacked(m, c) and m.support is None and spatial.between(a.center, m.center, c.center)]
            if mids and len({m.cls for m in mids}) == 1 and all(m.id in f.seen_ids for m in mids):
                q = f.phr.fill("spatial_between", ref=ra, ref2=rc)
                groups["between"].append(_qa("spatial_relation", q, mids[0].cls, [a.id, c.id] + [m.id for m in mids]))
            g = f.gap(a, c)
            if g <= cfg.next_to_gap or g >= cfg.far_gap:
                q = f.phr.fill("spatial_next_to_yes_no", ref=ra, ref2=rc)
                ans = T.YES if g <= cfg.next_to_gap else T.NO
                groups["yes_no"].append(_qa("spatial_relation", q, ans, [a.id, c.id]))
    return mix(groups, rng)


def _distance(f: Facts, rng: np.random.Generator) -> list[Sample]:
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
            out.append(_qa("distance", f.phr.fill("distance", ref=r1, ref2=r2), T.metres(d), ia + ib))
    return shuffled(out, rng)


def _extreme(qtype: str, largest: bool) -> QAGenerator:
    """Generator for nearest (``largest=False``) or farthest object from an object, door or window."""

    def gen(f: Facts, rng: np.random.Generator) -> list[Sample]:
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
            out.append(_qa(qtype, f.phr.fill(qtype, ref=r), f.by_id[best].cls, ids))
        return shuffled(out, rng)

    return gen


ABSENT_TYPES: tuple[str, ...] = ("colour", "counting", "spatial_relation", "last_seen")
"""Question types that also ask about classes not in the room (colour/relation/last seen → 'there is no
<class>', counting → 'zero')."""


def absent_answer(cls: str) -> str:
    """The answer to a colour or relation question about a class not in the room."""
    return f"{ABSENT_PREFIX} {cls}"


def absent_questions(f: Facts, qtype: str, rng: np.random.Generator) -> list[Sample]:
    """Questions of ``qtype`` about classes absent from the whole scene, in random order: 'What colour is the
    sofa?' → 'there is no sofa', 'How many sofas are there?' → 'zero', 'What is next to the sofa?' → 'there is
    no sofa'."""
    out = []
    for cls in shuffled(sorted(set(CLASSES) - set(f.by_class)), rng):
        name = f.phr.synonym(cls)
        if qtype == "counting":
            s = _qa(qtype, f.phr.fill("counting", cls_pl=T.plural(name)), T.count_word(0), [])
        elif qtype in ("colour", "last_seen"):
            s = _qa(qtype, f.phr.fill(qtype, ref=f"the {name}"), absent_answer(cls), [])
        else:
            key = "spatial_support" if rng.random() < 0.5 else "spatial_next_to"
            s = _qa(qtype, f.phr.fill(key, ref=f"the {name}"), absent_answer(cls), [])
        s.absent = True
        out.append(s)
    return out


def with_absent(present: list[Sample], absent: list[Sample], quota: int, share: float,
                rng: np.random.Generator) -> list[Sample]:
    """Up to ``quota`` samples, shuffled: each slot is an absent-class question with probability ``share`` (while
    they last), else a present one; the set ends when a present slot finds none left. So about ``share`` of the
    output is absent however many present candidates a room has (filling a large quota with absent questions
    would skew a room with few present candidates towards them)."""
    if share <= 0:
        return present[:quota]
    n_abs = n_present = 0
    for _ in range(quota):
        if rng.random() < share and n_abs < len(absent):
            n_abs += 1
        elif n_present < len(present):
            n_present += 1
        else:
            break
    return shuffled(present[:n_present] + absent[:n_abs], rng)


def _last_seen(f: Facts, rng: np.random.Generator) -> list[Sample]:
    """'When did you last see the lamp on the desk?' → its class, grounded on it. The time itself is never the
    model's: it comes from the last-seen stamps of the map cells the answer is grounded on."""
    return [_qa("last_seen", f.phr.fill("last_seen", ref=r), o.cls, [o.id]) for o, r in shuffled(f.referable(rng), rng)]


QA_GENERATORS: dict[str, QAGenerator] = {
    "existence": _existence,
    "counting": _counting,
    "colour": _colour,
    "class": _class,
    "size": _size,
    "spatial_relation": _spatial,
    "distance": _distance,
    "nearest": _extreme("nearest", largest=False),
    "farthest": _extreme("farthest", largest=True),
    "last_seen": _last_seen,
}
"""Question type → candidate generator (each returns unambiguous candidates in random order)."""
