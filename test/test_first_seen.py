"""'When did you first see the bed?' and 'what did you see first?' (``model.room_questions``, asked by the Answerer)
and ``benchmarks/first_seen.py``, which scores them on rendered rooms against the walk."""

from __future__ import annotations

import json
import math

import pytest
import torch
from map_fixtures import furnished_map

from leovl_ros.agent.paths import REPO_ROOT, default_model_dir
from leovl_ros.model.measure import AskedQuestion
from leovl_ros.model.room_questions import asks_earliest, measured_latest
from leovl_ros.model.voxel_questions import asks_first_seen, object_first_seen

BENCHMARK = REPO_ROOT / "benchmarks" / "first_seen.py"


@pytest.mark.parametrize("question, first_seen, earliest", [
    ("when did you first see the bed?", True, False), ("When did you see the lamp for the first time?", True, False),
    ("when was the bed first seen", True, False), ("when did you last see the bed?", False, False),
    ("what did you see first?", False, True), ("What was the first thing you saw?", False, True),
    ("what is the first thing on my left?", False, False), ("what did you see last?", False, False),
])
def test_first_seen_questions_are_read_from_their_words(question, first_seen, earliest):
    assert asks_first_seen(AskedQuestion(question)) is first_seen
    assert asks_earliest(question) is earliest


def test_an_objects_first_seen_time_is_its_own_voxels_earliest():
    probs = torch.tensor([0.9, 0.8, 0.05, 0.9])  # the third voxel is the wall behind: seen first, not the object
    first = torch.tensor([12.0, 11.5, 3.0, math.nan], dtype=torch.float64)
    assert object_first_seen(probs, first) == 11.5
    assert object_first_seen(torch.zeros(0), torch.zeros(0)) is None
    assert object_first_seen(torch.tensor([0.9]), torch.tensor([math.nan])) is None


def test_what_was_seen_first_lists_the_objects_first_seen_with_the_earliest():
    room = furnished_map([("bed", [(0.0, 0.0), (0.3, 0.0)]), ("chair", [(2.0, 0.0)]), ("lamp", [(4.0, 0.0)])])
    first = torch.tensor([10.0, 10.2, 10.4, 13.0], dtype=torch.float64)  # the lamp came into view 3 s later
    last = torch.tensor([20.0, 20.0, 14.0, 19.9], dtype=torch.float64)

    def seen(question: str) -> object:
        measured = measured_latest(AskedQuestion(question), room.footprints, room.xy, room.cell_size, last, first)
        return None if measured is None else measured.text

    assert seen("what did you see first?") == "a bed and a chair"
    assert seen("what did you see last?") == "a bed and a lamp"
    assert measured_latest(AskedQuestion("what did you see first?"), room.footprints, room.xy, room.cell_size,
                           last, None) is None  # a map without first-seen times


@pytest.mark.skipif(not (default_model_dir() / "model.safetensors").is_file(),
                    reason="needs the shipped model (models/default)")
def test_benchmark_prints_one_json_line(benchmark, capsys):
    benchmark.main(["--rooms", "2", "--frames", "8", "--threads", "1"])
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["benchmark"] == "first_seen" and figures["n"] >= 1
    assert 0.0 <= figures["share_within_one_frame"] <= figures["answered"] <= 1.0
    with pytest.raises(SystemExit) as exit_info:
        benchmark.parse_args(["--help"])
    assert exit_info.value.code == 0
