"""'How many lamps and chairs are there?' / 'what colours are the bed and the chair?' on rendered rooms:
``benchmarks/several.py`` reads the answers back and scores them against the room."""

from __future__ import annotations

import json

import pytest

from leovl_ros.agent.paths import REPO_ROOT, default_model_dir
from leovl_ros.model.measure import AskedQuestion
from leovl_ros.model.room_questions import SEVERAL_COLOUR_WORDS, SEVERAL_COUNT_WORDS, several_classes

BENCHMARK = REPO_ROOT / "benchmarks" / "several.py"


def test_answers_are_read_back_per_class(benchmark):
    assert benchmark.said_counts("two lamps, one chair and no sofas") == {"lamp": 2, "chair": 1, "sofa": 0}
    assert benchmark.said_counts("one") == {}
    assert benchmark.said_colours("the bed is gray and I have not seen a sofa") == {"bed": "gray"}
    for pattern in benchmark.COUNT_PATTERNS:
        assert several_classes(AskedQuestion(pattern.format(a="lamps, beds", b="trash cans")), SEVERAL_COUNT_WORDS)
    for pattern in benchmark.COLOUR_PATTERNS:
        assert several_classes(AskedQuestion(pattern.format(a="bed", b="trash can")), SEVERAL_COLOUR_WORDS)


@pytest.mark.skipif(not (default_model_dir() / "model.safetensors").is_file(),
                    reason="needs the shipped model (models/default)")
def test_benchmark_prints_one_json_line(benchmark, capsys):
    benchmark.main(["--rooms", "2", "--frames", "8", "--threads", "1"])
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["benchmark"] == "several" and figures["n_count"] + figures["n_colour"] >= 1
    for key in ("count_all_right", "count_parts_right", "colour_all_right", "colour_parts_right"):
        assert figures[key] is None or 0.0 <= figures[key] <= 1.0, key
    with pytest.raises(SystemExit) as exit_info:
        benchmark.parse_args(["--help"])
    assert exit_info.value.code == 0
