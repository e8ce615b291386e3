"""evaluate_qa / compare_qa, the PNG plots and the ``python -m leovl_ros.eval.report`` command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from leovl_ros.eval.plots import plot_accuracy_vs_tokens, plot_by_type, plot_token_counts
from leovl_ros.eval.report import compare_qa, evaluate_qa, main


def _records() -> list[dict]:
    """8 counting questions (6 right), 4 colour questions (1 right by EM, 1 more by EM-R), 1 empty answer."""
    recs = []
    for i in range(8):
        recs.append({"question_id": f"c{i}", "question_type": "counting", "answers": ["2"],
                     "prediction": "two" if i < 6 else "three"})
    colour = [("red", "Red."), ("dark blue", "blue"), ("green", "white"), ("", "black")]
    for i, (pred, ref) in enumerate(colour):
        recs.append({"question_id": f"k{i}", "question_type": "colour", "answers": [ref], "prediction": pred})
    return recs


def test_evaluate_qa_values_and_structure() -> None:
    """Hand-computed EM / EM-R per type and overall, in percent, with CIs around them."""
    report = evaluate_qa(_records(), n_boot=300)
    assert report["n"] == 12 and report["units"] == "percent"
    assert report["em"] == pytest.approx(100 * 7 / 12)
    assert report["em_r"] == pytest.approx(100 * 8 / 12)
    counting, colour = report["by_type"]["counting"], report["by_type"]["colour"]
    assert counting["n"] == 8 and counting["em"] == pytest.approx(75.0) and counting["em_r"] == pytest.approx(75.0)
    assert colour["n"] == 4 and colour["em"] == pytest.approx(25.0) and colour["em_r"] == pytest.approx(50.0)
    for entry in (report, counting, colour):
        for metric in ("em", "em_r"):
            lo, hi = entry["ci"][metric]
            assert 0.0 <= lo <= entry[metric] <= hi <= 100.0
    assert report["empty_predictions"] == 1
    assert "empty" in report["note"]
    json.dumps(report)  # serialisable as-is


def test_evaluate_qa_accepts_objects_and_rejects_empty() -> None:
    """Records may be objects with attributes; no records is an error."""

    class Rec:
        question_id, question_type, answers, prediction = 1, "yes/no", ["Yes"], "yes"

    assert evaluate_qa([Rec()], n_boot=50)["em"] == 100.0
    with pytest.raises(ValueError):
        evaluate_qa([])


def test_compare_qa_paired() -> None:
    """Pairs by question id; a model right on 12 more questions is significantly better."""
    truth = [{"question_id": i, "question_type": "t", "answers": ["yes"]} for i in range(60)]
    a = [dict(r, prediction="yes" if r["question_id"] < 40 else "no") for r in truth]
    b = [dict(r, prediction="yes" if r["question_id"] < 28 else "no") for r in reversed(truth)]
    result = compare_qa(a, b)
    assert result["n"] == 60 and result["delta"] == pytest.approx(20.0)
    assert result["p_value"] == pytest.approx(2 * 0.5**12)
    assert compare_qa(a, a)["p_value"] == 1.0


def test_plots_write_png(tmp_path: Path) -> None:
    """The plots write non-blank PNG files (single report and several models; token counts per scene)."""
    import matplotlib.image

    report = evaluate_qa(_records(), n_boot=100)
    paths = [
        plot_by_type(report, tmp_path / "by_type.png"),
        plot_by_type({"SFT": report, "blind": report}, tmp_path / "sub" / "by_type2.png"),
        plot_accuracy_vs_tokens([{"model": "CFG", "tokens": 417, "accuracy": 60.8, "ci": [58.0, 63.0]},
                                 {"model": "voxels", "tokens": 1297, "accuracy": 58.0}], tmp_path / "tok.png"),
        plot_token_counts([{"scene": f"room_{i}", "voxel_tokens": 600 + 40 * i, "cfg_tokens_unclipped": 200 + 9 * i}
                           for i in range(12)], tmp_path / "counts.png", highlight=["room_0", "room_3"],
                          reference=(1297, 417)),
    ]
    for path in paths:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        pixels = matplotlib.image.imread(path)
        assert pixels.ndim == 3 and np.std(pixels[..., :3]) > 0.05
    with pytest.raises(ValueError):
        plot_accuracy_vs_tokens([], tmp_path / "x.png")
    with pytest.raises(ValueError):
        plot_token_counts([], tmp_path / "y.png")


def test_cli_on_beacon3d(shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The CLI scores a predictions file against the real Beacon3D annotations (true answers: 100 %)."""
    qa_path = shared_data / "annotations" / "beacon3d_scannet_qa.json"
    truth = json.loads(qa_path.read_text())
    preds = {q["question_id"]: q["answers"][0] for q in truth}
    preds[truth[0]["question_id"]] = "purple"
    (tmp_path / "p.json").write_text(json.dumps(preds))
    code = main(["--predictions", str(tmp_path / "p.json"), "--annotations", str(qa_path), "--bootstrap", "100",
                 "--out", str(tmp_path / "m.json"), "--plot", str(tmp_path / "t.png")])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["format"] == "beacon3d" and result["missing_predictions"] == 0
    assert result["qa"]["n"] == 1155 and result["qa"]["em"] == pytest.approx(100 * 1154 / 1155)
    assert result["beacon3d"]["n_objects"] == 385
    assert result["beacon3d"]["obj"] == pytest.approx(100 * 384 / 385)
    assert json.loads((tmp_path / "m.json").read_text()) == result
    assert (tmp_path / "t.png").stat().st_size > 1000


def test_cli_on_sqa3d_list_predictions(shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """SQA3D (two files, any order) with list-style predictions; missing predictions count as wrong."""
    ann_dir = shared_data / "annotations"
    anns = json.loads((ann_dir / "sqa3d_test_annotations_sample.json").read_text())["annotations"]
    preds = [{"question_id": a["question_id"], "prediction": a["answers"][0]["answer"]} for a in anns[:150]]
    (tmp_path / "p.json").write_text(json.dumps(preds))
    annotation_files = [str(ann_dir / "sqa3d_test_annotations_sample.json"),
                        str(ann_dir / "sqa3d_test_questions_sample.json")]
    code = main(["--predictions", str(tmp_path / "p.json"), "--bootstrap", "100", "--annotations", *annotation_files])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["format"] == "sqa3d" and result["missing_predictions"] == 50
    assert result["qa"]["em"] == pytest.approx(75.0)
    assert "beacon3d" not in result


def test_cli_help_and_errors(tmp_path: Path) -> None:
    """--help works as a module; a missing file gives exit code 2 and a message."""
    done = subprocess.run([sys.executable, "-m", "leovl_ros.eval.report", "--help"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and "--predictions" in done.stdout and "--annotations" in done.stdout
    assert main(["--predictions", str(tmp_path / "none.json"), "--annotations", str(tmp_path / "none.json")]) == 2
