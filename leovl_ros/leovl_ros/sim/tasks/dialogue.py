"""Multi-turn dialogues whose follow-ups refer back ('What colour is it?').
"""

from __future__ import annotations

import numpy as np

from leovl_ros.sim import templates as T
from leovl_ros.sim.tasks.facts import Facts
from leovl_ros.sim.tasks.sample import Sample


def dialogue(f: Facts, cls: str, rng: np.random.Generator) -> list[Sample]:
    """A 2-3 turn dialogue about one class/object; one sample per follow-up turn with the history before it."""
    name = f.phr.synonym(cls)
    turns: list[tuple[str, str, str, list[int]]] = []
    inst = f.by_class[cls]
    if len(inst) == 1:
        o = inst[0]
        if f.colour_count[o.colour] == 1 and rng.random() < 0.5:
            turns.append((f.phr.fill("opener_class_colour", colour=f.phr.colour(o.colour)), o.cls, "class",
                          [o.id]))
        else:
            turns.append((f.phr.fill("opener_existence", a_cls=T.with_article(name)), T.YES, "existence", [o.id]))
            turns.append((f.phr.fill("followup_colour"), o.colour, "colour", [o.id]))
        if o.support is not None:
            turns.append((f.phr.fill("followup_support"), f.by_id[o.support].cls, "spatial_relation",
                          [o.id, o.support]))
        else:
            nb = f.neighbour(o)
            if nb is not None and nb.id in f.seen_ids:
                turns.append((f.phr.fill("followup_next_to"), nb.cls, "spatial_relation", [o.id, nb.id]))
    elif f.fully_seen(cls):
        turns.append((f.phr.fill("opener_existence", a_cls=T.with_article(name)), T.YES, "existence",
                      [o.id for o in inst]))
        turns.append((f.phr.fill("followup_count"), T.count_word(len(inst)), "counting", [o.id for o in inst]))
    out = []
    for k in range(1, len(turns)):
        q, a, qtype, ids = turns[k]
        out.append(Sample(task="dialogue", question_type=qtype, question=q, answers=[a], object_ids=ids,
                          history=[(tq, ta) for tq, ta, _, _ in turns[:k]]))
    return out
