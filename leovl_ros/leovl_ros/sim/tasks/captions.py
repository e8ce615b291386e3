"""Object and scene captions with canonical names (two reference phrasings each).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from leovl_ros.sim import spatial
from leovl_ros.sim import templates as T
from leovl_ros.sim.tasks.facts import Facts
from leovl_ros.sim.tasks.mixing import shuffled
from leovl_ros.sim.tasks.sample import Sample


def _object_caption_text(f: Facts, o, variant: int) -> str:
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


def object_captions(f: Facts, rng: np.random.Generator) -> list[Sample]:
    """'Describe the red chair.' → a short description with colour, support, neighbour and location."""
    out = []
    for o, r in shuffled(f.referable(rng), rng)[: f.cfg.object_captions]:
        refs = list(dict.fromkeys(_object_caption_text(f, o, v) for v in range(2)))
        out.append(Sample(task="object_caption", question_type="object_caption",
                          question=f.phr.fill("object_caption", ref=r), answers=refs, object_ids=[o.id]))
    return out


def _list_phrase(items: list[str]) -> str:
    """'a, b and c'."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _scene_caption_text(f: Facts, variant: int) -> str:
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


def scene_captions(f: Facts, rng: np.random.Generator) -> list[Sample]:
    """'Describe the room.' → the scene caption (two reference phrasings)."""
    if not f.seen:
        return []
    refs = [_scene_caption_text(f, v) for v in range(2)]
    return [Sample(task="scene_caption", question_type="scene_caption", question=f.phr.fill("scene_caption"),
                   answers=refs, object_ids=[o.id for o in f.seen])]
