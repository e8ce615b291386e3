"""training/evaluate.py --questions FILE (a Beacon3D-format question file keyed by room seed) and --heldout FILE (one
evaluation set): a tiny trained model answers; the reported EM / by-type / Beacon3D Case equal what its predictions
file gives by hand, and again with predictions of known rightness; malformed files fail before any model loads."""

from __future__ import annotations

import json
import shutil
import sys

import pytest
import torch

from leovl_ros.agent.paths import REPO_ROOT
from leovl_ros.eval.metrics import answer_scores

sys.path.insert(0, str(REPO_ROOT))

from tiny_pretrained import tiny_data, tiny_recipe

from training import ddp
from training.evaluate import main as evaluate

pytestmark = pytest.mark.slow  # trains a tiny model for 2 steps and renders one room: under a minute on 2 cores


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(own copy of the tiny data folder, tower, 2-step SFT checkpoint, tiny preset YAML)."""
    from training.train import stage2

    shared, tower = tiny_data()
    root = tmp_path_factory.mktemp("questions")
    data = root / "data"
    shutil.copytree(shared, data)  # the question file's new room gets cached here, not in the shared folder
    cfg, preset = tiny_recipe("quick", root)
    stage2(cfg, data, root / "sft", ddp.Dist(rank=0, world_size=1, device=torch.device("cpu")), tower, blind=False)
    return data, tower, root / "sft" / "model", preset


def _args(data, model, preset, out, *extra) -> list[str]:
    return ["--data", str(data), "--model", str(model), "--preset", str(preset), "--out", str(out), *map(str, extra)]


def _by_hand(records: list[dict]) -> tuple[float, dict[str, float]]:
    """EM overall and by type (percent) of evaluator records, from answer_scores."""
    hits = [(r["question_type"], answer_scores(r["prediction"], r["answers"])[0]) for r in records]
    types = sorted({t for t, _ in hits})
    pct = lambda v: 100.0 * sum(v) / len(v)  # noqa: E731
    return pct([h for _, h in hits]), {t: pct([h for u, h in hits if u == t]) for t in types}


def test_question_file_about_room_seeds(trained, tmp_path):
    from leovl_ros.sim.tasks import scene_id_for
    from training.prepare import split_seeds

    data, _, model, preset = trained
    cached = json.loads((data / "scene_splits.json").read_text())["test"][0]
    fresh = scene_id_for(split_seeds("test", 3)[-1])  # a held-out room the data folder has not fused
    assert not (data / "scenes" / f"{fresh}.safetensors").exists()
    questions = [
        {"question_id": "cached-count", "scene_id": cached, "question": "how many chairs are there?",
         "answers": ["two"], "question_type": "counting", "object_ids": []},
        {"question_id": "fresh-colour", "scene_id": fresh, "question": "what colour is the bed?",
         "answers": ["red"], "question_type": "colour", "object_ids": [3]},
    ]
    file = tmp_path / "questions.json"
    file.write_text(json.dumps(questions))
    out = tmp_path / "eval"
    assert evaluate(_args(data, model, preset, out, "--questions", file)) == 0
    assert (data / "scenes" / f"{fresh}.safetensors").is_file()  # rendered and fused with the checkpoint's tower
    # ... and with the data folder's own DataConfig (so its appearance randomisation), which prepare.py recorded
    from tiny_pretrained import TINY_DATA

    from training.config import DataConfig
    from training.data import read_data_config

    assert read_data_config(data) == DataConfig(**TINY_DATA) != DataConfig()

    # the figures are those of the predictions the command wrote
    preds = json.loads((out / "main_predictions.json").read_text())
    records = preds["questions_file"]
    assert [r["question_id"] for r in records] == ["cached-count", "fresh-colour"]
    metrics = json.loads((out / "metrics.json").read_text())["questions_file"]
    em, by_type = _by_hand(records)
    assert metrics["n"] == 2 and metrics["em"] == pytest.approx(em)
    assert {t: v["em"] for t, v in metrics["by_type"].items()} == pytest.approx(by_type)

    # with predictions of known rightness (one answered, one not): 50 % EM, counting 100, colour 0, Case 50
    records[0]["prediction"], records[1]["prediction"] = "Two.", "purple"
    (out / "main_predictions.json").write_text(json.dumps(preds))
    assert evaluate(_args(data, model, preset, out, "--questions", file)) == 0
    metrics = json.loads((out / "metrics.json").read_text())["questions_file"]
    assert metrics["em"] == pytest.approx(50.0)
    assert metrics["by_type"]["counting"]["em"] == pytest.approx(100.0)
    assert metrics["by_type"]["colour"]["em"] == pytest.approx(0.0)
    assert metrics["beacon3d"]["case"] == pytest.approx(50.0) and metrics["beacon3d"]["n_objects"] == 1


@pytest.mark.parametrize("content, message", [
    ('[{"question_id": "a", "scene_id": "synth000001", "question": "how many chairs?"}]', "missing keys ['answers']"),
    ("[{not json", "not valid JSON"),
    ("[]", "no questions"),
    ('{"question_id": "a"}', "is a JSON list"),
])
def test_malformed_question_file_is_refused_clearly(trained, tmp_path, capsys, content, message):
    data, _, model, preset = trained
    file = tmp_path / "bad.json"
    file.write_text(content)
    with pytest.raises(SystemExit) as exit_info:
        evaluate(_args(data, model, preset, tmp_path / "eval", "--questions", file))
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "--questions" in err and message in err and str(file) in err
    assert not (tmp_path / "eval").exists()  # refused before any model was loaded or anything written


def test_heldout_evaluation_set(trained, tmp_path):
    """--heldout scores every QA and caption sample of one set (as ``DATA/eval/<source>_<split>.jsonl``)."""
    from leovl_ros.sim.shards import iter_samples
    from training.data import SAMPLES, read_heldout

    data, _, model, preset = trained
    qa = read_heldout(data)[:3]
    caption = next(s for s in iter_samples(data / SAMPLES, "test") if s.task == "object_caption")
    file = tmp_path / "set.jsonl"
    file.write_text("".join(json.dumps(s.to_json()) + "\n" for s in (*qa, caption)))
    out = tmp_path / "eval"
    assert evaluate(_args(data, model, preset, out, "--heldout", file)) == 0
    preds = json.loads((out / "main_predictions.json").read_text())
    assert [r["question_id"] for r in preds["qa"]] == [s.question_id for s in qa] and not preds["qa_unseen"]
    assert [c["id"] for c in preds["captions"]] == [caption.question_id]
    for i, r in enumerate(preds["qa"]):  # known rightness: the first two right
        r["prediction"] = r["answers"][0] if i < 2 else "zzzz"
    (out / "main_predictions.json").write_text(json.dumps(preds))
    assert evaluate(_args(data, model, preset, out, "--heldout", file)) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["qa"]["n"] == 3 and metrics["qa"]["em"] == pytest.approx(200 / 3)
    assert metrics["caption"]["n"] == 1 and metrics["qa_text"]["n"] == 3
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"task": "qa"}\n')
    with pytest.raises(SystemExit):
        evaluate(_args(data, model, preset, tmp_path / "bad_eval", "--heldout", bad))
