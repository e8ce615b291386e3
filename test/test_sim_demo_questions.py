"""The demo's question selection: training's visibility rule on the rendered camera path, a varied script."""

from __future__ import annotations

import numpy as np

from leovl_ros.sim.demo_questions import DEMO_QA_ORDER, demo_script, seen_along, select_demo_questions
from leovl_ros.sim.render import default_intrinsics, render_sequence
from leovl_ros.sim.tasks import generate_samples
from leovl_ros.sim.trajectory import robot_trajectory
from leovl_ros.sim.world import generate_scene


def test_seen_along_matches_the_training_rule():
    """Same objects as training/prepare.py's loop over render_sequence (instance[::4, ::4], any frame)."""
    scene = generate_scene(3)
    n, w, h = 40, 160, 120
    poses = np.array(robot_trajectory(scene, n, 3, fps=15.0))
    expected: set[int] = set()
    for frame in render_sequence(scene, n, seed=3, width=w, height=h, fps=15.0):
        expected.update(int(i) for i in np.unique(frame.instance[::4, ::4]) if i >= 0)
    assert seen_along(scene, poses, default_intrinsics(w, h), w, h) == expected
    assert 0 < len(expected) <= len(scene.objects)
    assert seen_along(scene, np.zeros((0, 4, 4)), default_intrinsics(w, h), w, h) == set()


def test_select_demo_questions_asks_about_seen_objects_only():
    scene = generate_scene(0)
    w, h = 160, 120
    poses = np.array(robot_trajectory(scene, 60, 0, fps=15.0))
    K = default_intrinsics(w, h)
    seen = seen_along(scene, poses, K, w, h)
    questions = select_demo_questions(scene, poses, K, w, h, seed=0, limit=14, unseen_wordings=0)
    expected = demo_script(generate_samples(scene, 0, seen_objects=seen), 14)
    assert [q.to_json() for q in questions] == [q.to_json() for q in expected]
    reworded = select_demo_questions(scene, poses, K, w, h, seed=0, limit=14)
    assert [q.wording for q in reworded].count("unseen") == 4
    assert [(q.question_id, q.answers) for q in reworded] == [(q.question_id, q.answers) for q in questions]
    asked = len(questions) + sum(len(q.history) for q in questions)
    assert 8 <= asked <= 14
    qa_types = [q.question_type for q in questions if q.task == "qa"]
    assert qa_types == [t for t in DEMO_QA_ORDER if t in qa_types] and len(set(qa_types)) == len(qa_types)
    assert any(q.task == "situated_qa" for q in questions)
    for q in questions:
        if q.question_type != "existence":
            assert set(q.object_ids[:1]) <= seen, q  # the object asked about was seen
    assert questions[-1].task == "dialogue" and questions[-1].history


def test_demo_script_respects_the_limit():
    samples = generate_samples(generate_scene(1), 1)
    for limit in (0, 3, 5, 14):
        script = demo_script(samples, limit)
        assert len(script) + sum(len(s.history) for s in script) <= limit
