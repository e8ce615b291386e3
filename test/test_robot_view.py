"""Questions from the robot's own point of view (``leovl_ros.agent.robot_view``): read and reworded, asked at the
newest camera pose by the Answerer, switchable; and ``benchmarks/robot_view.py``, which scores them on rendered
rooms."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from dialogue_fixtures import build_tiny_model, fused_store

from leovl_ros.agent.answering import Answerer, AnswererConfig, load_agent
from leovl_ros.agent.map_handle import MapHandle
from leovl_ros.agent.paths import REPO_ROOT, default_model_dir
from leovl_ros.agent.robot_view import (
    as_asked_of_me,
    asks_from_robot,
    asks_implicitly_from_robot,
    robot_situation_pose,
    robot_viewpoint,
)

BENCHMARK = REPO_ROOT / "benchmarks" / "robot_view.py"


@pytest.mark.parametrize("question, asked", [
    ("is the bed on your left or right?", "is the bed on my left or right?"),
    ("What is in front of you?", "What is in front of me?"),
    ("where is the sofa relative to you", "where is the sofa relative to me"),
    ("Is the lamp to the left of you?", "Is the lamp to the left of me?"),
    ("what is closest to you?", "what is closest to me?"),
    ("what do you see?", None), ("can you tell me where the bed is?", None), ("how many chairs are there?", None),
    ("what did you see on the left?", None),
])
def test_the_robot_as_viewpoint_is_read_and_worded_as_trained(question, asked):
    assert asks_from_robot(question) is (asked is not None)
    assert robot_viewpoint(question, asks_route=False) == asked
    if asked is not None:
        assert as_asked_of_me(question) == asked


def test_a_route_or_a_distance_from_nowhere_is_asked_from_where_the_robot_stands_as_written():
    assert robot_viewpoint("take me to the chair", asks_route=True) == "take me to the chair"
    assert robot_viewpoint("how many chairs?", asks_route=False) is None
    assert robot_viewpoint("take me to", asks_route=True) is None  # nowhere named
    for question in ("how far is the chair?", "How far away is the bed", "how far is the lamp from here?"):
        assert asks_implicitly_from_robot(question, False) and robot_viewpoint(question, False) == question
    for question in ("how far is the bed from the chair?", "how far is it from the bed to the chair?",
                     "how far am I from the bed?", "how far is the bed from you?"):
        assert not asks_implicitly_from_robot(question, False), question
    # one object's side of another with no viewpoint named: the robot's
    for question in ("is the lamp left or right of the bed?", "Is the tv to the right of the chair?",
                     "what is to the left of the bed?"):
        assert asks_implicitly_from_robot(question, False) and robot_viewpoint(question, False) == question
    for question in ("seen from the door, is the lamp left or right of the bed?", "is the lamp left of me?",
                     "is the lamp left or right of the bed from my position?", "is there anything left of the bed?"):
        assert not asks_implicitly_from_robot(question, False), question


def test_the_situation_pose_faces_where_the_camera_looks_on_the_floor():
    # an optical frame (z forward, x right, y down) looking along map +y, tilted 20° down, 1.2 m up
    tilt = math.radians(20.0)
    forward = np.array([0.0, math.cos(tilt), -math.sin(tilt)])
    right = np.array([1.0, 0.0, 0.0])
    camera = np.eye(4)
    camera[:3, 0], camera[:3, 2], camera[:3, 1] = right, forward, np.cross(forward, right)
    camera[:3, 3] = (2.0, 1.0, 1.2)
    pose = robot_situation_pose(camera)
    assert np.allclose(pose[:3, 0], (0.0, 1.0, 0.0), atol=1e-9)  # x forward: along +y, level
    assert np.allclose(pose[:3, 2], (0.0, 0.0, 1.0)) and np.allclose(pose[:3, 3], (2.0, 1.0, 1.2))


def test_no_generated_question_asked_without_a_situation_takes_the_robot_as_its_viewpoint():
    from leovl_ros.model.measure import asks_route
    from leovl_ros.sim.tasks import TaskConfig, generate_samples
    from leovl_ros.sim.world import generate_scene

    texts = [s.question for seed in range(20) for wording in ("seen", "unseen")
             for s in generate_samples(generate_scene(seed), np.random.default_rng(seed), TaskConfig(wording=wording))
             if s.situation is None]
    data = REPO_ROOT / "benchmarks" / "data"
    for name in ("handworded_questions.json", "real_questions.json"):
        texts += [item["question"] for item in json.loads((data / name).read_text()) if not item.get("situation")]
    assert len(texts) > 1000
    assert [t for t in texts if robot_viewpoint(t, asks_route(t)) is not None] == []


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    return load_agent(str(build_tiny_model(tmp_path_factory.mktemp("tiny_model"))))


def test_the_answerer_asks_at_the_newest_camera_pose_and_can_be_told_not_to(agent, monkeypatch):
    store = fused_store()
    answerer = Answerer(agent, MapHandle(store))
    asked = []
    answer = agent.answer
    monkeypatch.setattr(agent, "answer", lambda *a, **kw: asked.append((a[1], kw["situation_pose"]))
                        or answer(*a, **kw))
    reply = answerer.ask("is the lamp on your left or right?")
    assert reply.success and asked[-1] == ("is the lamp on your left or right?", None)  # no camera pose yet
    camera = np.eye(4)
    camera[:3, :3] = [[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]]  # optical axis along map +x
    camera[:3, 3] = (1.0, 1.0, 1.0)
    store.note_camera(camera)
    reply = answerer.ask("is the lamp on your left or right?")
    assert reply.success and reply.read_as == "is the lamp on my left or right?"
    text, pose = asked[-1]
    assert text == "is the lamp on my left or right?" and np.allclose(pose, robot_situation_pose(camera))
    assert answerer.ask("take me to the chair").answer.startswith("from where I am: ")
    assert asked[-1][1] is not None
    answerer.ask("is the lamp on your left?", situation_text="I am sitting on the bed")
    assert asked[-1] == ("is the lamp on your left?", None)  # the asker's own situation wins
    answerer.config = AnswererConfig(robot_viewpoint=False)
    reply = answerer.ask("take me to the chair")
    assert reply.success and not reply.answer.startswith("from where") and asked[-1][1] is None


@pytest.mark.skipif(not (default_model_dir() / "model.safetensors").is_file(),
                    reason="needs the shipped model (models/default)")
def test_benchmark_prints_one_json_line(benchmark, capsys):
    benchmark.main(["--rooms", "2", "--frames", "8", "--threads", "1"])
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["benchmark"] == "robot_view" and figures["n_side"] + figures["n_route"] >= 1
    for key in ("side_right", "side_right_without", "side_of_right", "side_of_right_without", "beside_right",
                "beside_right_without", "distance_right",
                "distance_right_without", "route_step_right",
                "route_right", "route_right_without"):
        assert figures[key] is None or 0.0 <= figures[key] <= 1.0, key
    with pytest.raises(SystemExit) as exit_info:
        benchmark.parse_args(["--help"])
    assert exit_info.value.code == 0 and "--questions" in capsys.readouterr().out


@pytest.mark.skipif(not (default_model_dir() / "model.safetensors").is_file(),
                    reason="needs the shipped model (models/default)")
def test_what_is_on_the_robots_side_is_answered_with_a_thing_not_a_side():
    """"What is to your left?" names no object: read as the robot's situated object question, never as a side;
    "what is to my left?" is the asker's, which only a situation places."""
    from leovl_ros.cfg import VoxelStore, VoxelStoreConfig
    from leovl_ros.cfg.pipeline import FrameFuser, load_encoder
    from leovl_ros.model.room_questions import ASKER_VIEWPOINT_ANSWER
    from leovl_ros.sim.render import render_sequence
    from leovl_ros.sim.scene import CLASSES
    from leovl_ros.sim.world import generate_scene

    fuser = FrameFuser(load_encoder())
    store = VoxelStore(VoxelStoreConfig(feature_dim=fuser.encoder.feature_dim))
    for frame in render_sequence(generate_scene(1), 12, seed=1, width=320, height=240):
        fuser.fuse(store, frame)
    answerer = Answerer(load_agent(""), MapHandle(store))
    for question in ("what is to your left?", "what's on your right?", "what's at your left?"):
        reply = answerer.ask(question)
        assert reply.success and reply.answer in CLASSES, (question, reply.answer, reply.answer_types)
        assert "situated_direction" not in reply.answer_types
    for question in ("what is to my left?", "what's closest to me?"):  # the asker's: only a situation places it
        assert answerer.ask(question).answer == ASKER_VIEWPOINT_ANSWER, question
    reply = answerer.ask("what's closest to me?", situation_text="I am sitting on the bed")
    assert reply.success and reply.answer in CLASSES, reply.answer
    # a side needs the heading, which "I am sitting on the bed" does not give: asked for, not guessed
    assert answerer.ask("what is to my left?", situation_text="I am sitting on the bed").answer.startswith(
        "I know you are at the bed, but not which way you face")
