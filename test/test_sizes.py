"""'How big is the room / the bed?' on rendered rooms: ``benchmarks/sizes.py`` compares the map's sizes with the
room's truth and reports its figures."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import pytest

from leovl_ros.agent.paths import REPO_ROOT, default_model_dir
from leovl_ros.model.measure import AskedQuestion
from leovl_ros.model.room_questions import asks_room_size
from leovl_ros.model.voxel_questions import asks_height, asks_taller

BENCHMARK = REPO_ROOT / "benchmarks" / "sizes.py"


def test_sides_and_footprints_are_read_longer_first(benchmark):
    assert benchmark.sides("the bed is about 1.5 by 2.1 meters") == (2.1, 1.5)
    assert benchmark.sides("about 6 by 4 meters, 26 square meters") == (6.0, 4.0)
    assert benchmark.sides("bed") is None
    turned = SimpleNamespace(size=(2.0, 1.0, 0.5), yaw=math.pi / 2)  # a bed turned a quarter: still 2 by 1
    assert benchmark.footprint(turned) == pytest.approx((2.0, 1.0))
    assert all(asks_room_size(p) for p in benchmark.ROOM_PATTERNS)
    assert all(AskedQuestion(p.format(cls="bed")).named == ["bed"] for p in benchmark.OBJECT_PATTERNS)
    assert all(asks_height(AskedQuestion(p.format(cls="lamp"))) for p in benchmark.HEIGHT_PATTERNS)
    assert all(asks_taller(AskedQuestion(p.format(a="lamp", b="bed"))) for p in benchmark.TALLER_PATTERNS)
    assert benchmark.TALL.search("the tv is about 0.5 meters tall, its top 1.3 meters above the floor")["h"] == "0.5"


@pytest.mark.skipif(not (default_model_dir() / "model.safetensors").is_file(),
                    reason="needs the shipped model (models/default)")
def test_benchmark_prints_one_json_line(benchmark, capsys):
    benchmark.main(["--rooms", "1", "--frames", "8", "--threads", "1"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    figures = json.loads(lines[0])
    assert figures["benchmark"] == "sizes" and figures["n_rooms"] == 1 and figures["n_objects"] >= 1
    assert figures["room_side_error_median"] is not None and figures["object_measured"] > 0.5
    assert figures["n_heights"] == figures["n_objects"] and figures["height_measured"] > 0.5
    assert 0.0 <= figures["height_within_10cm"] <= figures["height_within_20cm"] <= 1.0
    assert figures["taller_right"] is None or 0.0 <= figures["taller_right"] <= 1.0
    with pytest.raises(SystemExit) as exit_info:
        benchmark.parse_args(["--help"])
    assert exit_info.value.code == 0 and "--rooms" in capsys.readouterr().out
