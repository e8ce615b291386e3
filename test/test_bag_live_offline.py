"""Live and offline bag evaluations agree: ``leovl-eval`` (the agent over DDS, a back-pressured replay) and
``training/bag_eval.py`` (the same bag fused in-process) answer a synthetic room's questions alike — at most one
answer differs and EM is equal within one question. The offline side never imports rclpy and runs the nodes'
parameter defaults."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

FRAMES = 60


def test_offline_config_is_the_nodes(tmp_path) -> None:
    """The offline side builds the nodes' own configs: their defaults, eval overrides and checks."""
    from leovl_ros.agent.node_config import FusionConfig
    from leovl_ros.eval.bag_report import eval_params
    from training.bag_eval import node_config

    fusion = node_config(FusionConfig, eval_params(None, str(tmp_path))["fusion"]["ros__parameters"])
    assert fusion.mode == "eval" and fusion.max_frame_age == 0.0
    assert fusion.sync_queue_size == FusionConfig().sync_queue_size
    with pytest.raises(ValueError, match="voxel_size"):
        node_config(FusionConfig, {"voxel_size": -1.0})


def test_offline_side_is_ros_free() -> None:
    code = "import sys, training.bag_eval, leovl_ros.eval.bag_report; sys.exit('rclpy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parents[1], timeout=120).returncode == 0


@pytest.mark.ros
@pytest.mark.slow
def test_live_and_offline_answers_agree(tmp_path) -> None:
    from leovl_ros.agent.answering import check_model_dir
    from training.bag_eval import evaluate_bag

    try:
        check_model_dir("")
    except RuntimeError as exc:
        pytest.skip(str(exc))
    bag = tmp_path / "bag"
    bin_dir = Path(sys.executable).parent
    written = subprocess.run([str(bin_dir / "leovl-bag"), "write", "--source", "sim", "--frames", str(FRAMES),
                              "--out", str(bag)], capture_output=True, text=True, timeout=300)
    assert written.returncode == 0, written.stderr[-2000:]
    assert (bag / "annotations.json").is_file()

    live = subprocess.run([str(bin_dir / "leovl-eval"), str(bag), "--out", str(tmp_path / "live"), "--rate", "0"],
                          capture_output=True, text=True, timeout=900)
    assert live.returncode == 0, live.stderr[-3000:]
    live_summary = json.loads(live.stdout.strip().splitlines()[-1])
    offline = evaluate_bag(None, bag, tmp_path / "offline", threads=1)
    assert offline["exit_code"] == 0

    assert live_summary["frames_fused"] == offline["frames_fused"] == FRAMES
    answers = {}
    for side in ("live", "offline"):
        records = json.loads((tmp_path / side / "predictions.json").read_text())
        answers[side] = {r["question_id"]: r["prediction"] for r in records}
    assert answers["live"].keys() == answers["offline"].keys()
    n = len(answers["live"])
    assert n == live_summary["questions"] == offline["questions"] > 0
    differ = [q for q in answers["live"] if answers["live"][q] != answers["offline"][q]]
    assert len(differ) <= 1, {q: (answers["live"][q], answers["offline"][q]) for q in differ}
    assert abs(live_summary["em"] - offline["em"]) <= 100.0 / n + 1e-9, (live_summary["em"], offline["em"])
