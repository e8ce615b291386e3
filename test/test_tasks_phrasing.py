"""Phrasing families, the unseen-wording split, absent-object questions and the committed answer sets."""

from __future__ import annotations

import hashlib
import math
from collections import Counter, defaultdict

import numpy as np
import pytest

from leovl_ros.sim.phrasing import (
    KEY_TYPES,
    families,
    heldout_families,
    skeleton,
    surface_skeletons,
    wording_of,
)
from leovl_ros.sim.shards import build_heldout_qa_wordings
from leovl_ros.sim.tasks import QA_TYPES, SITUATED_TYPES, TaskConfig, generate_samples
from leovl_ros.sim.tasks.answers import ANSWER_SETS_PATH, answer_sets, answer_sets_json
from leovl_ros.sim.tasks.qa import ABSENT_TYPES
from leovl_ros.sim.world import generate_scene

PINNED = "48eda0f8b44d2668"
"""Digest of the sorted held-out family ids (update deliberately when families are added)."""



def test_every_type_holds_out_at_least_30_percent() -> None:
    per_type: dict[str, list[str]] = defaultdict(list)
    held = heldout_families()
    for key, fams in families().items():
        n_held = sum(f.id in held for f in fams)
        assert n_held >= math.ceil(0.3 * len(fams)) and n_held < len(fams), key
        per_type[KEY_TYPES[key]] += [f.id for f in fams]
    for qtype in (*QA_TYPES, *SITUATED_TYPES):
        ids = per_type[qtype]
        assert len(ids) >= 9, qtype  # many phrasing families per question type
        assert sum(i in held for i in ids) >= 0.3 * len(ids), qtype
    forms = {f.form for fams in families().values() for f in fams if f.id in held}
    assert {"imperative", "possessive", "contain"} <= forms


def test_no_skeleton_is_shared_between_seen_and_unseen() -> None:
    """No phrasing, with referring expressions/classes/places removed and every word-slot spelling expanded,
    occurs on both sides; and no two families share a skeleton at all."""
    sides: dict[str, set[str]] = {"seen": set(), "unseen": set()}
    owners: dict[str, str] = {}
    for fams in families().values():
        for f in fams:
            for sk in surface_skeletons(f.pattern):
                assert owners.setdefault(sk, f.id) == f.id, (sk, owners[sk], f.id)
                sides[wording_of(f.id)].add(sk)
    assert not sides["seen"] & sides["unseen"]
    assert skeleton("What {colour_w} is {ref}?") == "what {} is {}"


def test_split_is_the_committed_rule() -> None:
    """The held-out families follow from SPLIT_SEED and the family ids alone; pin them so a change is deliberate."""
    ids = sorted(heldout_families())
    digest = hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16]
    assert digest == PINNED, f"held-out families changed: {digest}"



@pytest.fixture(scope="module")
def both_wordings():
    """Samples of 8 scenes generated with the training and the held-out families."""
    out = []
    for seed in range(8):
        scene = generate_scene(seed)
        seen = generate_samples(scene, seed, TaskConfig(wording="seen"))
        unseen = generate_samples(scene, seed, TaskConfig(wording="unseen"))
        out.append((scene, seen, unseen))
    return out


def test_training_never_uses_held_out_families(both_wordings) -> None:
    held = heldout_families()
    for _, seen, unseen in both_wordings:
        default = [s for s in seen if s.phrasing_family]
        assert default and all(s.phrasing_family not in held and s.wording == "seen" for s in default)
        assert all(s.phrasing_family in held and s.wording == "unseen" for s in unseen if s.phrasing_family)
        for s in seen:
            if s.task in ("qa", "situated_qa", "dialogue", "planning", "object_caption", "scene_caption"):
                assert s.phrasing_family, s


def test_wordings_ask_the_same_facts(both_wordings) -> None:
    for _, seen, unseen in both_wordings:
        assert len(seen) == len(unseen)
        differ = 0
        for a, b in zip(seen, unseen):
            assert (a.question_id, a.answers, a.object_ids, a.absent, a.task) == \
                   (b.question_id, b.answers, b.object_ids, b.absent, b.task)
            differ += a.question != b.question
        assert differ > 0.9 * len(seen)


def test_answers_are_in_the_committed_answer_sets(both_wordings) -> None:
    assert ANSWER_SETS_PATH.read_text() == answer_sets_json(), "run python -m leovl_ros.sim.tasks.answers"
    sets = answer_sets()
    for _, seen, unseen in both_wordings:
        for s in seen + unseen:
            if s.task in ("qa", "situated_qa"):
                assert s.answers[0] in sets[s.question_type], (s.question_type, s.answers)


def test_absent_objects(both_wordings) -> None:
    kinds = Counter()
    for scene, seen, _ in both_wordings:
        present = {o.cls for o in scene.objects}
        for s in seen:
            if s.absent:
                assert s.question_type in ABSENT_TYPES and not s.object_ids
                if s.question_type == "counting":
                    assert s.answers == ["zero"]
                else:
                    cls = s.answers[0].removeprefix("there is no ")
                    assert s.answers[0].startswith("there is no ") and cls not in present
                kinds[s.question_type] += 1
            else:
                assert not s.answers[0].startswith("there is no ") and s.answers[0] != "zero" or \
                    s.question_type == "situated_counting"
    assert set(kinds) == set(ABSENT_TYPES)
    assert generate_samples(generate_scene(0), 0, TaskConfig(absent_share=0.0)) and not any(
        s.absent for s in generate_samples(generate_scene(0), 0, TaskConfig(absent_share=0.0)))


def test_held_out_qa_in_both_wordings() -> None:
    both = build_heldout_qa_wordings(range(0, 300), n_questions=70, min_scenes=10)
    seen, unseen = both["seen"], both["unseen"]
    assert len(seen) == len(unseen) == 70
    held = heldout_families()
    for a, b in zip(seen, unseen):
        assert (a.question_id, a.answers, a.object_ids) == (b.question_id, b.answers, b.object_ids)
        assert a.phrasing_family not in held and b.phrasing_family in held
        assert a.wording == "seen" and b.wording == "unseen"


def test_questions_vary_in_surface_form(both_wordings) -> None:
    questions = [s.question for _, seen, _ in both_wordings for s in seen if s.task == "qa"]
    assert any(q[:1].islower() for q in questions) and any(q[:1].isupper() for q in questions)
    assert any(not q.endswith(("?", ".")) for q in questions)
    fams = Counter(s.phrasing_family for _, seen, _ in both_wordings for s in seen)
    assert len(fams) > 100
    rng_questions = [s.question for s in generate_samples(generate_scene(1), np.random.default_rng(3))]
    assert rng_questions == [s.question for s in generate_samples(generate_scene(1), np.random.default_rng(3))]
