"""'Which is closer to the bed, the desk or the stool?' on rendered rooms: ``benchmarks/closer.py`` asks comparisons
the room's geometry settles and reports its figures."""

from __future__ import annotations

import json

import pytest

from leovl_ros.agent.paths import REPO_ROOT, default_model_dir
from leovl_ros.model.measure import AskedQuestion
from leovl_ros.model.room_questions import distance_comparison

BENCHMARK = REPO_ROOT / "benchmarks" / "closer.py"


def test_every_wording_is_read_as_a_comparison_to_its_reference(benchmark):
    for text, _, _, _ in benchmark.PATTERNS:
        comparison = distance_comparison(AskedQuestion(text.format(ref="bed", a="desk", b="stool")))
        assert comparison.reference == "bed" and comparison.candidates == ("desk", "stool"), text


@pytest.mark.skipif(not (default_model_dir() / "model.safetensors").is_file(),
                    reason="needs the shipped model (models/default)")
def test_benchmark_prints_one_json_line(benchmark, capsys):
    benchmark.main(["--rooms", "1", "--frames", "8", "--questions", "3", "--threads", "1"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    figures = json.loads(lines[0])
    assert figures["benchmark"] == "closer" and 1 <= figures["n"] <= 3
    assert figures["n_choice"] + figures["n_yes_no"] == figures["n"]
    for key in ("right", "model_right", "changed"):
        assert 0.0 <= figures[key] <= 1.0, key
    with pytest.raises(SystemExit) as exit_info:
        benchmark.parse_args(["--help"])
    assert exit_info.value.code == 0 and "--questions" in capsys.readouterr().out
