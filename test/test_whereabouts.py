"""'Where are you?' on rendered rooms: ``benchmarks/whereabouts.py`` asks it after the walk and scores the answer
against the room's geometry."""

from __future__ import annotations

import json

import pytest

from leovl_ros.agent.paths import REPO_ROOT, default_model_dir

BENCHMARK = REPO_ROOT / "benchmarks" / "whereabouts.py"


@pytest.mark.parametrize("answer, parts", [
    ("I am in the middle of the room, next to the bed, facing the desk",
     ("in the middle of the room", "next to", "bed", "desk", None)),
    ("I am against the wall, near the trash can, facing it", ("against the wall", "near", "trash can", None, "it")),
    ("I am in a corner of the room", ("in a corner of the room", None, None, None, None)),
    ("I am against the wall; the map shows no object to place me by", ("against the wall", None, None, None, None)),
])
def test_the_answer_form_is_read_back(benchmark, answer, parts):
    m = benchmark._ANSWER.match(answer)
    assert m is not None and (m["place"], m["near"], m["nearest"], m["faced"], m["it"]) == parts


@pytest.mark.skipif(not (default_model_dir() / "model.safetensors").is_file(),
                    reason="needs the shipped model (models/default)")
def test_benchmark_prints_one_json_line(benchmark, capsys):
    benchmark.main(["--rooms", "2", "--frames", "8", "--threads", "1"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    figures = json.loads(lines[0])
    assert figures["benchmark"] == "whereabouts" and figures["n"] == 2
    for key in ("place_right", "nearest_right", "next_to_right", "facing_right", "all_right"):
        assert 0.0 <= figures[key] <= 1.0, key
    assert figures["all_right"] <= min(figures["place_right"], figures["nearest_right"], figures["facing_right"])
