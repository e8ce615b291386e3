"""The fixed held-out QA set: unseen scenes, balanced categories, yes/no cap, determinism."""

from __future__ import annotations

from collections import Counter

import pytest

from leovl_ros.sim.shards import HELDOUT_MIX, build_heldout_qa, heldout_category, split_for_seed

SEEDS = [s for s in range(1000) if split_for_seed(s) == "test"][:55] + list(range(20))
"""55 test-split seeds plus a few others (which must be ignored)."""


@pytest.fixture(scope="module")
def heldout():
    """The default-size held-out set."""
    return build_heldout_qa(SEEDS, n_questions=2000)


def test_heldout_size_scenes_and_mix(heldout) -> None:
    """2000 questions from >= 50 test-split scenes, every category at its share, yes/no <= 25 %."""
    assert len(heldout) == 2000
    scenes = Counter(s.scene_id for s in heldout)
    assert len(scenes) >= 50
    assert all(split_for_seed(int(sid[len("synth"):])) == "test" for sid in scenes)
    assert max(scenes.values()) < 0.05 * len(heldout)
    cats = Counter(heldout_category(s) for s in heldout)
    total = sum(HELDOUT_MIX.values())
    for cat, share in HELDOUT_MIX.items():
        assert abs(cats[cat] - share / total * 2000) <= 1, (cat, cats[cat])
    assert sum(s.is_yes_no for s in heldout) <= 0.25 * len(heldout)
    assert len({s.question_id for s in heldout}) == len(heldout)
    assert {s.question_type for s in heldout} >= {"distance", "nearest", "farthest"}


def test_heldout_refuses_too_few_unseen_scenes() -> None:
    """Seeds with fewer than min_scenes test-split scenes are rejected."""
    with pytest.raises(ValueError, match="test-split scenes"):
        build_heldout_qa(range(100), n_questions=100)


def test_heldout_respects_seen_objects() -> None:
    """With per-scene visibility sets, held-out questions are grounded in seen objects only."""
    from leovl_ros.sim.world import generate_scene

    seeds = SEEDS[:10]
    seen = {s: {o.id for o in generate_scene(s).objects[::2]} for s in seeds}
    held = build_heldout_qa(seeds, n_questions=70, min_scenes=10, seen_objects=seen)
    assert len(held) == 70
    for s in held:
        assert set(s.object_ids) <= seen[int(s.scene_id[len("synth"):])] or s.question_type == "existence"


@pytest.mark.slow
def test_heldout_deterministic(heldout) -> None:
    """Building it again gives the same questions and answers."""
    again = build_heldout_qa(SEEDS, n_questions=2000)
    assert [s.to_json() for s in again] == [s.to_json() for s in heldout]
