"""'Describe the room.' and 'describe the chair' on rendered rooms: the map's descriptions in the captions' form;
``benchmarks/captions.py`` scores them against the generator's reference captions and reports its figures."""

from __future__ import annotations

import json

import pytest

from leovl_ros.agent.paths import REPO_ROOT, default_model_dir
from leovl_ros.model.measure import AskedQuestion
from leovl_ros.model.room_questions import asks_object_caption, asks_scene_caption

BENCHMARK = REPO_ROOT / "benchmarks" / "captions.py"


def test_sides_are_read_back_and_every_wording_is_read_as_a_description(benchmark):
    assert benchmark.sides("This is a large bedroom of about 6 by 5 meters with a bed.") == (6, 5)
    assert benchmark.sides("A small office, roughly 4 by 3 meters, containing a desk.") is None  # the second form
    assert benchmark.sides("this is a large.") is None
    assert all(asks_scene_caption(p) for p in benchmark.SCENE_PATTERNS)
    assert all(asks_object_caption(AskedQuestion(p.format(cls="stool"))) for p in benchmark.OBJECT_PATTERNS)


@pytest.mark.skipif(not (default_model_dir() / "model.safetensors").is_file(),
                    reason="needs the shipped model (models/default)")
def test_benchmark_prints_one_json_line(benchmark, capsys):
    benchmark.main(["--rooms", "2", "--frames", "8", "--threads", "1", "--split", "val", "--objects", "1"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    figures = json.loads(lines[0])
    assert figures["benchmark"] == "captions" and figures["scene_n"] == 4 and figures["split"] == "val"
    assert figures["scene_measured"] == 1.0  # both wordings are read as the request, and the map describes the room
    assert figures["scene_cider"] > figures["scene_model_cider"]  # the captions' form with the room's own classes
    assert 2 <= figures["object_n"] <= 4 and figures["object_measured"] >= 0.5
    for key in ("scene_kind_right", "scene_size_right", "scene_size_within_one", "object_colour_right"):
        assert 0.0 <= figures[key] <= 1.0, key
    with pytest.raises(SystemExit) as exit_info:
        benchmark.parse_args(["--help"])
    assert exit_info.value.code == 0 and "--split" in capsys.readouterr().out
