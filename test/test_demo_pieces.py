"""The demo's ROS-free pieces (question script from scene ground truth, report, params) and a short real run."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from leovl_ros.ros.demo import (
    DemoConfig,
    DemoQuestion,
    DemoResult,
    demo_questions,
    when_question,
    write_params,
    write_report,
)
from leovl_ros.sim.world import generate_scene


def look_at(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Optical camera-to-world pose at ``eye`` looking at ``target`` (z up world)."""
    z = target - eye
    z /= np.linalg.norm(z)
    x = np.cross(z, [0.0, 0.0, 1.0])
    x /= np.linalg.norm(x)
    T = np.eye(4)
    T[:3, :3] = np.c_[x, np.cross(z, x), z]
    T[:3, 3] = eye
    return T


def test_question_script_is_varied_with_ground_truth_and_held_out_wordings():
    from leovl_ros.sim.demo_questions import select_demo_questions
    from leovl_ros.sim.render import default_intrinsics
    from leovl_ros.sim.trajectory import robot_trajectory

    scene = generate_scene(0)
    poses = np.array(robot_trajectory(scene, 40, 0, fps=15.0))
    questions = demo_questions(select_demo_questions(scene, poses, default_intrinsics(320, 240), 320, 240, seed=0,
                                                     limit=14, unseen_wordings=4))
    types = {q.question_type for q in questions}
    assert len(questions) >= 10
    assert {"counting", "colour", "spatial_relation"} <= types
    assert any(t.startswith("situated") for t in types) and any(t.startswith("follow-up") for t in types)
    situated = [q for q in questions if q.position is not None]
    assert situated and all(len(q.rotation_xyzw) == 4 and q.situation for q in situated)
    follow = [q for q in questions if q.session_id == "demo-dialogue"]
    assert len(follow) >= 2 and follow[-1].question_type.startswith("follow-up")
    assert all(q.answers and all(a.strip() for a in q.answers) for q in questions)
    assert sum(q.wording == "unseen" for q in questions) == 4


def test_report_lists_every_question(tmp_path):
    q = DemoQuestion("how many chairs?", ["one"], "counting")
    results = [DemoResult(q, "one", True, True, True, 12.0, 15.0, 300, [1, 2]),
               DemoResult(q, "[busy: x]", False, latency_ms=1.0)]
    topic = {"question": "when did you last see the bed?", "answer": "I last saw the bed 6.4 s ago, at t = 3.0 s"}
    path = write_report(tmp_path, DemoConfig(out=tmp_path), results, {"frames_fused": 10, "voxels": 5}, topic)
    text = path.read_text()
    assert text.count("| how many chairs? |") == 2 and "EM 1/2" in text and "topdown.png" in text
    assert "*when did you last see the bed?* → **I last saw the bed 6.4 s ago, at t = 3.0 s**" in text


def test_the_topic_question_asks_about_the_largest_object_seen_whose_class_is_unique():
    scene = generate_scene(3)
    unique = {o.id for o in scene.objects if sum(p.cls == o.cls for p in scene.objects) == 1}
    assert unique and when_question(scene, set()) == ""
    biggest = max((o for o in scene.objects if o.id in unique), key=lambda o: float(np.prod(o.size)))
    assert when_question(scene, {o.id for o in scene.objects}) == f"when did you last see the {biggest.cls}?"
    duplicated = {o.id for o in scene.objects} - unique
    assert when_question(scene, duplicated) == ""  # only classes the room holds once: "the chair" of two is ambiguous


def test_params_override_model_encoder_and_stream(tmp_path):
    import yaml

    model = tmp_path / "model"
    model.mkdir()
    config = DemoConfig(out=tmp_path, model=str(model), frames=7, rate=12.0, seed=3)
    params = yaml.safe_load(write_params(config, tmp_path / "p.yaml").read_text())
    assert params["dialogue"]["ros__parameters"]["model_path"] == str(model)
    assert params["fusion"]["ros__parameters"]["encoder_path"] == ""
    cam = params["sim_camera"]["ros__parameters"]
    assert (cam["frames"], cam["rate"], cam["seed"], cam["loop"]) == (7, 12.0, 3, False)
    (model / "image_encoder.json").write_text("{}")
    params = yaml.safe_load(write_params(config, tmp_path / "p.yaml").read_text())
    assert params["fusion"]["ros__parameters"]["encoder_path"] == str(model)
    (model / "image_encoder").mkdir()
    (model / "image_encoder" / "image_encoder.json").write_text("{}")
    params = yaml.safe_load(write_params(config, tmp_path / "p.yaml").read_text())
    assert params["fusion"]["ros__parameters"]["encoder_path"] == str(model / "image_encoder")


@pytest.mark.slow
@pytest.mark.ros
def test_demo_short_run(tmp_path):
    from dialogue_fixtures import build_tiny_model

    model = build_tiny_model(tmp_path / "model", feature_dim=32)
    out = tmp_path / "demo_out"
    cmd = [sys.executable, "-m", "leovl_ros.ros.demo", "--model", str(model), "--out", str(out), "--frames", "20",
           "--questions", "6", "--timeout", "240", "--rerun", str(out / "demo.rrd")]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=dict(os.environ))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    data = json.loads((out / "answers.json").read_text())
    assert len(data["results"]) == 6 and data["stats"]["frames_fused"] > 0
    assert all(r["success"] and r["scene_tokens"] > 0 for r in data["results"])
    assert (out / "topdown.png").stat().st_size > 10_000 and (out / "map.safetensors").is_file()
    report = (out / "report.md").read_text()
    assert all(r["q"]["question"] in report for r in data["results"])
    assert "answer:" in run.stdout and "ground truth:" in run.stdout
    assert data["topic"]["question"].startswith("when did you last see the ") and data["topic"]["answer"]
    from leovl_ros.agent.recording import recording_summary

    summary = recording_summary(out / "demo.rrd")  # what `make demo RERUN=1` writes
    assert summary["images"] >= 1 and summary["cfg"] >= 1, summary
    asked = len(data["results"]) + 1  # the scripted questions and the one on the ~/question topic
    assert summary["answers"] == summary["groundings"] == asked, summary
