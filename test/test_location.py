"""'Where is the chair?' on rendered held-out rooms: the map places the asked object and grounds the answer, its
time, on it; ``benchmarks/location.py`` scores it against the room's geometry and reports its figures."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest

from leovl_ros.agent.answering import answer_last_seen
from leovl_ros.agent.paths import REPO_ROOT, default_model_dir
from leovl_ros.model.room_questions import LOCATION_FAINT_MIN_P
from leovl_ros.sim.scene import CLASSES
from leovl_ros.sim.world import generate_scene

BENCHMARK = REPO_ROOT / "benchmarks" / "location.py"

pytestmark = pytest.mark.skipif(not (default_model_dir() / "model.safetensors").is_file(),
                                reason="needs the shipped model (models/default)")


def test_the_answer_places_and_grounds_the_asked_object(benchmark):
    """Each hand-written wording is answered by the map ("the <class> is on / next to / near the <other>") or says the
    room has none; the ~/goal and the reply's time are the asked object's, not its neighbour's."""

    def ask(room, answerer) -> list[int]:
        seen = [o for o in room.scene.objects
                if o.id in room.last_visible and sum(p.cls == o.cls for p in room.scene.objects) == 1]
        placed = []
        for obj, pattern in zip(seen, benchmark.PATTERNS):
            reply = answerer.ask(pattern.format(ref=f"the {obj.cls}"), session_id=f"{room.seed}-{obj.id}")
            assert reply.success, reply.error
            if reply.answer == f"there is no {obj.cls}":
                continue
            found = benchmark.ANSWER.match(reply.answer)
            assert found and found["asked"] == obj.cls and found["other"] in CLASSES, (pattern, reply.answer)
            assert reply.model_answer and reply.model_answer != reply.answer  # measured, not the model's words
            scene = answerer.agent.cached_scene
            assert scene.footprints[reply.cell_ids[0], CLASSES.index(obj.cls)] >= LOCATION_FAINT_MIN_P
            voxels = functools.partial(answerer.class_voxels, scene.batch)
            assert reply.last_seen == answer_last_seen(scene.batch, obj.cls, reply.cell_ids, scene.class_probs,
                                                       voxels, scene.footprints)
            placed.append(obj.id)
        return placed

    _, placed = benchmark.ask_held_out_rooms(benchmark.parse_args(["--rooms", "2", "--frames", "24"]), ask)
    assert len(placed) >= 6


def test_truth_from_the_rooms_geometry(benchmark):
    scene = next(s for s in map(generate_scene, range(100)) if any(o.support is not None for o in s.objects))
    top = next(o for o in scene.objects if o.support is not None)
    support, beside = benchmark.true_places(scene, top)
    assert support == next(o.cls for o in scene.objects if o.id == top.support)
    assert support not in beside or any(o.cls == support and o.id != top.support for o in scene.objects)
    assert benchmark.is_right(f"the {top.cls} is on the {support}", top.cls, support, beside)
    assert not benchmark.is_right(f"the {top.cls} is on the {support}", "sofa" if top.cls != "sofa" else "bed",
                                  support, beside)  # another object placed
    wrong = next(c for c in CLASSES if c not in beside and c != support)
    assert not benchmark.is_right(f"the {top.cls} is next to the {wrong}", top.cls, support, beside)
    assert not benchmark.is_right(top.cls, top.cls, support, beside)  # the class alone places nothing
    floor = next(o for o in scene.objects if o.support is None and o.id != top.support)
    support, beside = benchmark.true_places(scene, floor)
    assert support is None and beside and floor.cls not in beside
    assert all(benchmark.is_right(f"the {floor.cls} is {rel} the {c}", floor.cls, None, beside)
               for c in beside for rel in ("next to", "near"))


def test_benchmark_prints_one_json_line(benchmark, capsys):
    benchmark.main(["--rooms", "1", "--frames", "8", "--threads", "1"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    figures = json.loads(lines[0])
    assert figures["benchmark"] == "location" and figures["n"] == figures["n_on_support"] + figures["n_beside"] >= 1
    for key in ("right", "on_asked_object", "measured"):
        assert 0.0 <= figures[key] <= 1.0, key
    assert figures["answer_ms_median"] > 0 and 0 <= figures["absent_answers"] <= figures["n"]
    assert np.isfinite(figures["answer_ms_median"])
    with pytest.raises(SystemExit) as exit_info:
        benchmark.parse_args(["--help"])
    assert exit_info.value.code == 0 and "--min-pixels" in capsys.readouterr().out
