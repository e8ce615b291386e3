"""``leovl-eval``: bad bags and annotations are one line with exit code 2 (no agent started), eval.report takes an
existence question with empty object_ids, and a replay fuses every frame, answers every question and repeats
exactly (same predictions, EM and map checksum); ``--rerun FILE`` records the replay (``--use-running`` with it is
refused)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from leovl_ros.geometry.frame import Frame
from leovl_ros.io.annotations import QAItem
from leovl_ros.io.bag import write_rgbd_bag
from leovl_ros.io.bag_annotations import read_bag_annotations, write_bag_annotations


def _frames(n: int = 4) -> list[Frame]:
    depth = np.full((12, 16), 2.0, np.float32)
    return [Frame(rgb=np.zeros((12, 16, 3), np.uint8), depth=depth, K=np.array([[10.0, 0, 8], [0, 10, 6], [0, 0, 1]]),
                  pose=np.eye(4), stamp=i / 30.0, frame_id="x") for i in range(n)]


def _item(scene: str = "s1", **kw) -> QAItem:
    return QAItem(question_id="q1", scene_id=scene, question="Is there a piano in the room?", answers=["no"],
                  question_type="existence", **kw)


def _sim_bag_with_questions(tmp_path: Path, frames: int, questions: int, **write: object) -> tuple[Path, int, list]:
    """A rendered synthetic room as a bag with ``annotations.json`` about what its frames show: (bag, frames
    written, questions); skips when the shipped model is absent."""
    from leovl_ros.agent.answering import check_model_dir
    from leovl_ros.io.bag_annotations import sim_bag_questions
    from leovl_ros.sim.render import TRAINING_STRIDE, Visibility, render_sequence
    from leovl_ros.sim.world import generate_scene

    try:
        check_model_dir("")
    except RuntimeError as exc:
        pytest.skip(str(exc))
    scene = generate_scene(0)
    vis = Visibility(stride=TRAINING_STRIDE)
    bag = tmp_path / "bag"
    n = write_rgbd_bag((vis.add(f) for f in render_sequence(scene, frames, seed=0, width=320, height=240)), bag,
                       custom_data={"scene_id": "synth000000"}, **write)
    items = sim_bag_questions(scene, vis.seen(min_pixels=1), 0, limit=questions)
    write_bag_annotations(items, bag / "annotations.json")
    return bag, n, items


def _eval(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "leovl_ros.ros.eval_cli", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_annotations_roundtrip_with_situation(tmp_path) -> None:
    item = _item(situation="I am sitting on the bed.", position=np.array([1.0, 2.0, 0.0]),
                 rotation_xyzw=np.array([0.0, 0.0, 0.0, 1.0]))
    write_bag_annotations([item], tmp_path / "a.json")
    entry = json.loads((tmp_path / "a.json").read_text())[0]
    assert entry["position"] == {"x": 1.0, "y": 2.0, "z": 0.0} and entry["rotation"]["_w"] == 1.0
    (q,) = read_bag_annotations([tmp_path / "a.json"])
    assert q.item.situation == item.situation and q.bag_time_s is None
    np.testing.assert_allclose(q.item.position, item.position)


@pytest.mark.parametrize("compressed", [False, True])
def test_agent_subscribes_as_the_bag_records(tmp_path, compressed: bool) -> None:
    """A bag of image_transport compressed topics replays into a node with compressed_inputs, a raw one without."""
    from leovl_ros.eval.bag_report import bag_is_compressed, eval_params
    from leovl_ros.io.bag_check import check_bag

    write_rgbd_bag(_frames(), tmp_path / "bag", compressed=compressed)
    check = check_bag(tmp_path / "bag")
    assert check.ok, check.problems
    assert bag_is_compressed(check) is compressed
    fusion = eval_params(None, "", compressed=bag_is_compressed(check))["fusion"]["ros__parameters"]
    assert fusion["compressed_inputs"] is compressed and fusion["mode"] == "eval"


def test_report_scores_existence_question_without_objects(tmp_path) -> None:
    from leovl_ros.eval import report

    write_bag_annotations([_item()], tmp_path / "a.json")
    (tmp_path / "p.json").write_text(json.dumps({"q1": "no"}))
    assert report.main(["--predictions", str(tmp_path / "p.json"), "--annotations", str(tmp_path / "a.json"),
                        "--bootstrap", "10"]) == 0


@pytest.mark.parametrize("case", ["no_poses", "other_scene", "truncated", "no_annotations", "depth_units"])
def test_bad_input_is_one_line_exit_2(tmp_path, case: str) -> None:
    bag = tmp_path / "bag"
    frames = _frames()
    if case == "depth_units":  # metres written where millimetres belong
        for f in frames:
            f.depth = f.depth / 1000.0
        write_rgbd_bag(frames, bag, custom_data={"scene_id": "s1"}, depth_encoding="32FC1")
    else:
        write_rgbd_bag(frames, bag, pose_topic="/elsewhere" if case == "no_poses" else "/camera/pose",
                       custom_data={"scene_id": "s1"})
    if case != "no_annotations":
        write_bag_annotations([_item("scene0001_00" if case == "other_scene" else "s1")], bag / "annotations.json")
    if case == "truncated":
        mcap = next(bag.glob("*.mcap"))
        mcap.write_bytes(mcap.read_bytes()[: mcap.stat().st_size // 2])
    result = _eval(str(bag), "--out", str(tmp_path / "out"))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    expected = {"no_poses": "no poses", "other_scene": "annotations are for scene scene0001_00",
                "truncated": "truncated", "no_annotations": "annotation file not found",
                "depth_units": "median depth"}[case]
    assert expected in lines[0], lines[0]


@pytest.mark.ros
@pytest.mark.slow
def test_replay_fuses_every_frame_and_repeats_exactly(tmp_path) -> None:
    bag, n, items = _sim_bag_with_questions(tmp_path, frames=30, questions=8, pose_as="tf")
    runs = []
    for k in range(2):
        result = _eval(str(bag), "--out", str(tmp_path / f"out{k}"), "--rate", "0", timeout=400)
        assert result.returncode == 0, result.stderr[-3000:]
        summary = json.loads(result.stdout.strip().splitlines()[-1])
        assert summary["frames_in_bag"] == n and summary["frames_fused"] == n, summary
        assert summary["questions"] == len(items)
        predictions = json.loads((tmp_path / f"out{k}" / "predictions.json").read_text())
        runs.append((summary, [(p["question_id"], p["prediction"]) for p in predictions]))
        for name in ("report.json", "report.md", "topdown.png", "accuracy_by_type.png", "latency.png",
                     "fusion_over_bag_time.png"):
            assert (Path(tmp_path / f"out{k}") / name).is_file(), name
    (a, pa), (b, pb) = runs
    assert pa == pb
    assert (a["em"], a["em_r"], a["map_checksum"]) == (b["em"], b["em_r"], b["map_checksum"])


def test_rerun_with_a_running_agent_is_refused(tmp_path) -> None:
    result = _eval(str(tmp_path / "bag"), "--out", str(tmp_path / "out"), "--use-running", "--rerun",
                   str(tmp_path / "x.rrd"), timeout=120)
    assert result.returncode == 2 and "--rerun records inside the agent" in result.stderr, result.stderr
    assert not (tmp_path / "x.rrd").exists()


@pytest.mark.ros
@pytest.mark.slow
def test_eval_replay_is_recorded_to_rerun(tmp_path) -> None:
    """``--rerun FILE``: read back, the file holds the fused images, the CFG and one grounding per answer."""
    from leovl_ros.agent.recording import ENTITIES, read_recording, recording_summary

    bag, n, items = _sim_bag_with_questions(tmp_path, frames=12, questions=4)
    rrd = tmp_path / "rec" / "eval.rrd"
    result = _eval(str(bag), "--out", str(tmp_path / "out"), "--rate", "0", "--rerun", str(rrd), "--startup-timeout",
                   "600", timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    predictions = json.loads((tmp_path / "out" / "predictions.json").read_text())
    answered = sum(p["success"] for p in predictions)
    assert summary["frames_fused"] == n and answered == len(items) == summary["questions"], summary
    counts = recording_summary(rrd)
    assert summary["rerun"] == {"path": str(rrd), "counts": counts}
    assert counts["frames"] == n and counts["images"] == n and counts["depth_images"] == n, counts
    assert counts["cfg"] >= 1, counts
    assert counts["groundings"] == counts["answers"] == answered, counts
    texts = [r["TextLog:text"][0] for r in read_recording(rrd)[ENTITIES["answers"]]]
    assert sorted(t.split("\n")[0] for t in texts) == sorted(f"Q: {i.question}" for i in items), texts
    assert "rerun recording" in (tmp_path / "out" / "report.md").read_text()
