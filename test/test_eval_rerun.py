"""``leovl-eval --rerun FILE``: the replayed evaluation recorded as ``leovl-agent --rerun`` records — read back, the
file holds the fused images, the CFG and one grounding per answered question; --rerun with --use-running is a
one-line error."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def _eval(*args: str, timeout: float = 400) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "leovl_ros.ros.eval_cli", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_rerun_with_a_running_agent_is_refused(tmp_path) -> None:
    result = _eval(str(tmp_path / "bag"), "--out", str(tmp_path / "out"), "--use-running", "--rerun",
                   str(tmp_path / "x.rrd"), timeout=120)
    assert result.returncode == 2 and "--rerun records inside the agent" in result.stderr, result.stderr
    assert not (tmp_path / "x.rrd").exists()


@pytest.mark.ros
@pytest.mark.slow
def test_eval_replay_is_recorded_to_rerun(tmp_path) -> None:
    from leovl_ros.agent.answering import check_model_dir
    from leovl_ros.agent.recording import ENTITIES, read_recording, recording_summary
    from leovl_ros.io.bag import write_rgbd_bag
    from leovl_ros.io.bag_annotations import sim_bag_questions, write_bag_annotations
    from leovl_ros.sim.render import TRAINING_STRIDE, Visibility, render_sequence
    from leovl_ros.sim.world import generate_scene

    try:
        check_model_dir("")
    except RuntimeError as exc:
        pytest.skip(str(exc))
    scene = generate_scene(0)
    vis = Visibility(stride=TRAINING_STRIDE)
    bag = tmp_path / "bag"
    n = write_rgbd_bag((vis.add(f) for f in render_sequence(scene, 12, seed=0, width=320, height=240)), bag,
                       custom_data={"scene_id": "synth000000"})
    items = sim_bag_questions(scene, vis.seen(min_pixels=1), 0, limit=4)
    write_bag_annotations(items, bag / "annotations.json")
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
