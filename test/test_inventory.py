"""'What do you see?' on a rendered held-out room: the map lists its classes with their numbers;
``benchmarks/inventory.py`` scores the list against the objects the walk showed and reports its figures."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from leovl_ros.agent.paths import REPO_ROOT, default_model_dir

BENCHMARK = REPO_ROOT / "benchmarks" / "inventory.py"


def test_lists_are_read_back_class_by_class(benchmark):
    assert benchmark.listed("a bed, two chairs, a lamp and three trash cans") == Counter(
        {"bed": 1, "chair": 2, "lamp": 1, "trash can": 3})
    assert benchmark.listed("a chair") == Counter({"chair": 1})
    assert benchmark.listed("pillow") == Counter()  # the model's one word is no list
    assert benchmark.listed("a bed and two unicorns") == Counter({"bed": 1})
    assert benchmark.listed("three things: a bed and two chairs") == Counter({"bed": 1, "chair": 2})
    assert [benchmark.said_number(a) for a in ("three things: a bed and two chairs", "one", "23 things: a bed",
                                               "pillow", "")] == [3, 1, 23, None, None]


@pytest.mark.skipif(not (default_model_dir() / "model.safetensors").is_file(),
                    reason="needs the shipped model (models/default)")
def test_benchmark_prints_one_json_line(benchmark, capsys):
    benchmark.main(["--rooms", "1", "--frames", "8", "--asks", "2", "--threads", "1"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    figures = json.loads(lines[0])
    assert figures["benchmark"] == "inventory" and figures["n"] == 2
    assert figures["measured"] == 1.0  # every wording is read as the question, and the map lists something
    for key in ("class_precision", "class_recall", "count_right", "whole_list_right", "model_class_precision"):
        assert figures[key] is None or 0.0 <= figures[key] <= 1.0, key
    assert figures["class_precision"] > 0.0 and figures["classes_per_room_median"] >= 1
    assert figures["total_n"] == 1 and figures["total_abs_error_median"] is not None  # the total is read back
    assert figures["true_total_median"] >= figures["classes_per_room_median"]
    assert figures["latest_n"] == 1 and figures["latest_recall"] is not None  # "what did you see last?" is listed
    with pytest.raises(SystemExit) as exit_info:
        benchmark.parse_args(["--help"])
    assert exit_info.value.code == 0 and "--asks" in capsys.readouterr().out
