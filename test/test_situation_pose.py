"""A situation given as text is placed on the map (``model.situation_pose``): the roles its words give, the object
each names, the asker's position and heading; the Answerer asks at that pose; ``benchmarks/situation_text.py``."""

from __future__ import annotations

import json
import math

import pytest
import torch
from map_fixtures import furnished_map

from leovl_ros.agent.paths import REPO_ROOT, default_model_dir
from leovl_ros.model.measure import AskedQuestion
from leovl_ros.model.room_questions import room_inventory
from leovl_ros.model.situation_pose import (
    needs_heading,
    situation_mentions,
    situation_pose,
    standing_position,
    unknown_heading,
)
from leovl_ros.sim.scene import COLOURS

BENCHMARK = REPO_ROOT / "benchmarks" / "situation_text.py"


@pytest.mark.parametrize("text, roles", [
    ("I am sitting on the bed facing the tv.", [("bed", "sit"), ("tv", "front")]),
    ("I'm seated on the couch and I face the television.", [("sofa", "sit"), ("tv", "front")]),
    ("I am standing by the red chair, looking towards the desk.", [("chair", "stand"), ("desk", "front")]),
    ("I'm at the stool and the lamp is on my left.", [("stool", "stand"), ("lamp", "left")]),
    ("I'm on the bed looking at the tv", [("bed", "sit"), ("tv", "front")]),
    ("I am near the bed; behind me is the desk.", [("bed", "stand"), ("desk", "behind")]),
    ("Next to the bed, I am looking in the direction of the tv.", [("bed", "stand"), ("tv", "front")]),
    ("I'm standing next to the chair next to the desk and looking at the bed.", [("chair", "stand"), ("bed", "front")]),
    ("I am facing the toilet with a door behind me.", [("toilet", "front"), ("door", "behind")]),
])
def test_the_situation_words_give_each_named_class_its_role(text, roles):
    assert [(m.cls, m.role) for m in situation_mentions(text)] == roles


def test_a_side_asked_in_a_situation_without_a_heading_is_known_to_be_unknown():
    assert unknown_heading("I am sitting on the chair", "what is behind me?", route=False) == "chair"
    assert unknown_heading("I'm at the plant", "how do I get to the bed?", route=True) == "plant"
    assert unknown_heading("I am sitting on the chair", "what colour is the bed?", route=False) is None  # no side
    for situation in ("I am sitting on the chair facing the bed", "I'm at the plant with the bed on my left",
                      "I am sitting on the chair, my back to the window", "I am in the kitchen"):
        assert unknown_heading(situation, "what is behind me?", route=False) is None, situation


def pose(text: str, room, colours=None):
    objects = dict(room_inventory(AskedQuestion(""), room.footprints, room.xy, room.cell_size))
    return situation_pose(text, objects, room.footprints, room.xy, room.cell_size, colours)


def test_the_asker_sits_on_the_anchor_facing_the_faced_object_or_turned_from_a_stated_side():
    # a bed of three columns along x at y = 0, a tv 3 m east of its centre, a desk 3 m north of it
    room = furnished_map([("bed", [(0.0, 0.0), (0.3, 0.0), (0.6, 0.0)]), ("tv", [(3.3, 0.0)]), ("desk", [(0.3, 3.0)])])
    x, y, yaw = pose("I am sitting on the bed facing the tv", room)
    assert (x, y) == pytest.approx((0.3, 0.0)) and yaw == pytest.approx(0.0)
    assert pose("I'm seated on the bed, looking towards the desk.", room)[2] == pytest.approx(math.pi / 2)
    assert pose("I am sitting on the bed and the tv is on my left", room)[2] == pytest.approx(-math.pi / 2)
    assert pose("I am sitting on the bed and the tv is on my right", room)[2] == pytest.approx(math.pi / 2)
    assert abs(pose("I am sitting on the bed; behind me is the tv", room)[2]) == pytest.approx(math.pi)
    # where one is first, what one faces next, in words the parser does not know
    assert pose("Picture me next to the bed, gazing at the tv", room)[2] == pytest.approx(0.0, abs=0.4)  # beside it
    assert pose("I'm over by the bed, eyes on the desk", room)[2] == pytest.approx(math.pi / 2, abs=0.3)
    # no heading given: placed only for a question that needs none, facing the room's middle
    assert pose("I am sitting on the bed", room) is None
    objects = dict(room_inventory(AskedQuestion(""), room.footprints, room.xy, room.cell_size))
    x, y, yaw = situation_pose("I am sitting on the bed", objects, room.footprints, room.xy, room.cell_size,
                               heading_needed=False)
    assert (x, y) == pytest.approx((0.3, 0.0))
    assert yaw == pytest.approx(math.atan2(1.5, 1.35))  # towards the map's middle (1.65, 1.5)
    assert needs_heading("what is behind me?", route=False) and needs_heading("take me to the tv", route=True)
    assert not needs_heading("how far is the tv from me?", route=False)
    for unplaced in ("I am sitting on the bed facing the window", "I am facing the tv", "I am in the kitchen",
                     "I am sitting on the sofa facing the tv", "I am sitting on the bed"):
        assert pose(unplaced, room) is None, unplaced


def test_a_standing_place_is_by_the_anchor_on_its_free_sides():
    # a stool in the middle of a 6 m × 6 m room: free all round, so the mean place is the stool itself; a stool in
    # a corner: the free places lie towards the room
    walls = [(0.0, 0.0), (6.0, 0.0), (0.0, 6.0), (6.0, 6.0)]
    room = furnished_map([("stool", [(3.0, 3.0)]), ("stool", [(0.6, 0.6)]), ("tv", [(3.0, 5.4)])]
                         + [("box", [w]) for w in walls])
    middle = standing_position([0], torch.tensor([3.0, 3.0], dtype=torch.float64), room.footprints, room.xy,
                               room.cell_size)
    assert middle.tolist() == pytest.approx([3.0, 3.0], abs=1e-6)  # the stool's columns: index 0, then 1
    placed = standing_position([1], torch.tensor([0.6, 0.6], dtype=torch.float64), room.footprints, room.xy,
                               room.cell_size)
    assert float(placed[0]) > 0.9 and float(placed[1]) > 0.9  # away from both walls


def test_an_object_is_told_apart_by_its_colour_and_the_faced_one_is_not_the_anchor():
    room = furnished_map([("chair", [(0.0, 0.0)]), ("chair", [(3.0, 0.0)]), ("tv", [(1.5, 3.0)])])
    colours = torch.zeros((len(room.xy), len(COLOURS) + 1))
    colours[0, list(COLOURS).index("red")] = 1.0
    colours[1, list(COLOURS).index("blue")] = 1.0
    colours[2, -1] = 1.0
    assert pose("I am sitting on the red chair facing the tv", room, colours)[:2] == pytest.approx((0.0, 0.0))
    assert pose("I am sitting on the blue chair facing the tv", room, colours)[:2] == pytest.approx((3.0, 0.0))
    x, y, yaw = pose("I'm sitting on the red chair, looking towards the blue chair", room, colours)
    assert (x, y, yaw) == pytest.approx((0.0, 0.0, 0.0))
    x, y, yaw = pose("I'm sitting on the blue chair, looking towards the chair", room, colours)  # the other one
    assert yaw == pytest.approx(math.pi)


@pytest.mark.skipif(not (default_model_dir() / "model.safetensors").is_file(),
                    reason="needs the shipped model (models/default)")
def test_benchmark_prints_one_json_line(benchmark, capsys):
    benchmark.main(["--rooms", "1", "--frames", "12", "--questions", "3", "--threads", "1"])
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["benchmark"] == "situation_text" and 1 <= figures["n"] <= 3
    for key in ("em_text", "em_text_without", "em_true_pose", "placed"):
        assert 0.0 <= figures[key] <= 1.0, key
    assert figures["position_error_m_median"] is None or figures["position_error_m_median"] >= 0.0
    reworded = benchmark.reworded("I am sitting on the bed facing the tv.",
                                  {"sitting": ["Sitting on {ref}, I face {ref2}."], "standing": ["x"]}, 0)
    assert reworded == "Sitting on the bed, I face the tv."
    with pytest.raises(SystemExit) as exit_info:
        benchmark.parse_args(["--help"])
    assert exit_info.value.code == 0 and "--wordings" in capsys.readouterr().out


@pytest.mark.skipif(not (default_model_dir() / "model.safetensors").is_file(),
                    reason="needs the shipped model (models/default)")
def test_the_answerer_asks_at_the_pose_the_text_gives_and_can_be_told_not_to(benchmark):
    from dataclasses import replace

    import last_seen  # benchmarks/, on the path the benchmark module put it

    from leovl_ros.agent.answering import Answerer, load_agent, situation_pose_matrix
    from leovl_ros.agent.map_handle import MapHandle
    from leovl_ros.cfg.pipeline import FrameFuser, load_encoder
    from leovl_ros.geometry.transforms import yaw_to_quat_xyzw

    args = benchmark.parse_args(["--frames", "24"])
    room = last_seen.fuse_room(last_seen.held_out_seeds(1)[0], FrameFuser(load_encoder()), args)
    answerer = Answerer(load_agent(""), MapHandle(room.store))
    placed = [(s, r) for i, s in enumerate(benchmark.generated_samples(room))
              if (r := answerer.ask(s.question, session_id=f"q{i}", situation_text=s.situation)).situation_placed]
    assert placed, "no situation of the room was placed"
    sample, reply = placed[0]
    assert reply.success, reply.error
    x, y, yaw = reply.situation_placed
    assert all(math.isfinite(v) for v in (x, y, yaw))
    at_pose = answerer.ask(sample.question, session_id="pose", situation_text=sample.situation,
                           situation_pose=situation_pose_matrix((x, y, 0.0), tuple(yaw_to_quat_xyzw(yaw))))
    assert at_pose.answer == reply.answer and at_pose.situation_placed is None  # a pose given: nothing placed
    answerer.config = replace(answerer.config, situation_from_map=False)
    assert answerer.ask(sample.question, session_id="off", situation_text=sample.situation).situation_placed is None
