"""``benchmarks/trained_types.py``: the trained question types outside the held-out mix, asked on held-out rooms it
fuses itself, scored for the model's words and the answers given."""

from __future__ import annotations

import json

import pytest

from leovl_ros.agent.paths import REPO_ROOT, default_model_dir

BENCHMARK = REPO_ROOT / "benchmarks" / "trained_types.py"

pytestmark = pytest.mark.skipif(not (default_model_dir() / "model.safetensors").is_file(),
                                reason="needs the shipped model (models/default)")


def test_questions_are_the_generators_about_objects_the_walk_shows(benchmark, tmp_path):
    from training.calibrate_absent import data_config_text
    from training.data import DATA_CONFIG
    from training.prepare import split_seeds

    (tmp_path / DATA_CONFIG).write_text(data_config_text(None, "default"))
    seed = split_seeds("test", 1)[0]
    seen = benchmark.walk_objects(seed, tmp_path)
    questions = benchmark.room_questions(seed, seen, "seen", per_type=2)
    assert questions and {q.question_type for q in questions} <= set(benchmark.TYPES)
    assert all(sum(q.question_type == t for q in questions) <= 2 for t in benchmark.TYPES)
    assert all(set(q.object_ids) <= seen for q in questions)
    unseen = benchmark.room_questions(seed, seen, "unseen", per_type=2)
    assert [q.answers for q in unseen] == [q.answers for q in questions]  # the same facts in other words
    assert [q.question for q in unseen] != [q.question for q in questions]


def test_the_benchmark_fuses_asks_and_prints_one_json_line(benchmark, tmp_path, capsys):
    from training.calibrate_absent import data_config_text
    from training.data import DATA_CONFIG

    (tmp_path / DATA_CONFIG).write_text(data_config_text(None, "default"))
    benchmark.main(["--data", str(tmp_path), "--rooms", "2", "--per-type", "2", "--wording", "seen"])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["benchmark"] == "trained_types" and out["rooms"] == 2 and out["seconds"] > 0
    figures = out["seen_wording"]
    assert "size" in figures and set(figures) <= set(benchmark.TYPES)
    for f in figures.values():
        assert 0 < f["n"] <= 4 and all(0.0 <= f[k] <= 100.0 for k in ("em", "em_model", "measured"))
    assert len(list((tmp_path / "scenes").glob("*.safetensors"))) == 2  # the rooms were fused into the cache
