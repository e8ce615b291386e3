"""All task families of one scene: per-type quotas, situations, captions, dialogues, yes/no cap, ids.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import numpy as np

from leovl_ros.sim.phrasing import Phraser, wording_of
from leovl_ros.sim.tasks.captions import object_captions, scene_captions
from leovl_ros.sim.tasks.dialogue import dialogue
from leovl_ros.sim.tasks.facts import Facts
from leovl_ros.sim.tasks.mixing import cap_yes_no, shuffled
from leovl_ros.sim.tasks.qa import ABSENT_TYPES, QA_GENERATORS, absent_questions, with_absent
from leovl_ros.sim.tasks.sample import QA_TYPES, Sample, TaskConfig, scene_id_for
from leovl_ros.sim.tasks.situated import planning, sample_situation, situated_candidates


def generate_samples(
    scene, rng: np.random.Generator | int, config: TaskConfig | None = None, seen_objects: Iterable[int] | None = None
) -> list[Sample]:
    """All task families for one scene, balanced across question types, yes/no share capped.

    ``seen_objects`` (ids visible in a rendered sequence) restricts questions to what the model could have
    seen; uniqueness of references, negatives for existence and absent classes still use the whole scene.
    ``config.wording`` picks the phrasing families (training: 'seen'); for a given scene and rng the facts,
    answers and question ids are the same under every wording, only the question texts differ.
    """
    cfg = config or TaskConfig()
    rng = np.random.default_rng(rng)
    # Wording draws come from their own stream, so every wording setting asks the same facts.
    f = Facts(scene, cfg, seen_objects, Phraser(np.random.default_rng(int(rng.integers(2**63))), cfg.wording))
    out: list[Sample] = []
    for qtype in QA_TYPES:
        chosen = QA_GENERATORS[qtype](f, rng)[: cfg.qa_per_type]
        if qtype in ABSENT_TYPES:
            chosen = with_absent(chosen, absent_questions(f, qtype, rng), cfg.qa_per_type, cfg.absent_share, rng)
        out.extend(chosen)
    for _ in range(cfg.situations):
        s = sample_situation(f, rng)
        if s is not None:
            for qs in situated_candidates(f, s, rng).values():
                out.extend(qs[: cfg.situated_per_type])
            out.extend(planning(f, s, rng, cfg.planning_per_situation))
    out.extend(object_captions(f, rng))
    out.extend(scene_captions(f, rng)[: cfg.scene_captions])
    for cls in shuffled(sorted({o.cls for o in f.seen}), rng)[: cfg.dialogues]:
        out.extend(dialogue(f, cls, rng))
    out = cap_yes_no(out, cfg.max_yes_no_share)
    sid = scene_id_for(scene.seed)
    counters: Counter[str] = Counter()
    for s in out:
        s.scene_id = sid
        s.object_names = [f.by_id[i].cls for i in s.object_ids]
        key = f"{s.task}_{s.question_type}"
        s.question_id = f"{sid}_{key}_{counters[key]}"
        counters[key] += 1
        s.wording = wording_of(s.phrasing_family) if s.phrasing_family else ""
    return out
