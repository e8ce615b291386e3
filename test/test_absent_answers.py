"""Questions about a class the room holds none of are answered "there is no sofa" whatever they ask (a distance, a
yes/no relation, a size, a height, a route), "no" / "zero" to existence and counts; ``benchmarks/absent_objects.py``
scores it on rendered rooms."""

from __future__ import annotations

import json

import numpy as np
import pytest

from leovl_ros.agent.answering import Answerer, load_agent
from leovl_ros.agent.map_handle import MapHandle
from leovl_ros.agent.paths import REPO_ROOT, default_model_dir
from leovl_ros.cfg import VoxelStore, VoxelStoreConfig
from leovl_ros.cfg.pipeline import FrameFuser, load_encoder
from leovl_ros.eval.normalize import says_no_such_object
from leovl_ros.model.measure import DISTANCE_ANSWER
from leovl_ros.sim.render import render_sequence
from leovl_ros.sim.templates import named_definitely
from leovl_ros.sim.world import generate_scene

BENCHMARK = REPO_ROOT / "benchmarks" / "absent_objects.py"

pytestmark = pytest.mark.skipif(not (default_model_dir() / "model.safetensors").is_file(),
                                reason="needs the shipped model (models/default)")


@pytest.fixture(scope="module")
def answerer():
    """The shipped model answering over a rendered room's map, the camera's last pose noted."""
    agent = load_agent("")
    scene = generate_scene(3)
    fuser = FrameFuser(load_encoder())
    store = VoxelStore(VoxelStoreConfig(feature_dim=fuser.encoder.feature_dim))
    for frame in render_sequence(scene, 6, seed=3, width=320, height=240):
        fuser.fuse(store, frame)
    return Answerer(agent, MapHandle(store))


@pytest.fixture
def gate(answerer, monkeypatch):
    """Set the absent gate's lower threshold: 1 judges every named class absent, 0 none."""
    reader = answerer.agent.model.config.reader

    def set_below(below: float) -> None:
        monkeypatch.setattr(reader, "absent_below", below)
        monkeypatch.setattr(reader, "absent_above", 1.0)
    return set_below


@pytest.mark.parametrize("question", [
    "how far is the sofa from the bed?", "is the sofa next to the bed?", "is the sofa on the bed?",
    "which is bigger, the bed or the sofa?", "is the sofa taller than the bed?", "how tall is the sofa?",
    "what is next to the sofa?", "describe the sofa", "where is the sofa?", "how do I get to the sofa?",
    "what colour is the sofa?", "when did you last see the sofa?",
])
def test_a_class_judged_absent_is_said_to_be_absent_whatever_is_asked(answerer, gate, question):
    gate(1.0)
    reply = answerer.ask(question)
    assert reply.success and says_no_such_object(reply.answer), reply.answer
    assert reply.answer.split()[-1] in ("sofa", "bed"), reply.answer  # a class the question names
    assert not reply.answer.startswith("from where"), reply.answer  # no viewpoint for what is not there


def test_existence_and_counts_keep_their_own_absent_words(answerer, gate):
    gate(1.0)
    assert answerer.ask("is there a sofa?").answer == "no"
    assert answerer.ask("how many sofas are there?").answer == "zero"


def test_with_the_gate_open_the_map_is_measured(answerer, gate):
    gate(0.0)
    answer = answerer.ask("how far is the sofa from the bed?").answer
    assert DISTANCE_ANSWER.match(answer), answer


def test_a_definite_article_takes_the_object_as_given():
    assert named_definitely("is the sofa on the bed?", "sofa") and named_definitely("Is the red couch big?", "sofa")
    assert named_definitely("where's that couch?", "sofa") and named_definitely("is the bed on the sofa?", "sofa")
    assert not named_definitely("is there a sofa?", "sofa") and not named_definitely("any sofas here?", "sofa")
    assert not named_definitely("is there a sofa next to the bed?", "sofa")
    assert not named_definitely("is the bed next to a sofa?", "sofa") and not named_definitely("the bed", "sofa")


def test_benchmark_prints_one_json_line(benchmark, capsys):
    benchmark.main(["--rooms", "1", "--frames", "8", "--threads", "1"])
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["benchmark"] == "absent_objects" and figures["n"] == 19
    assert set(figures["by_kind"]) >= {"distance", "relation_yes_no", "size", "route", "existence"}
    assert 0.0 <= figures["says_absent"] <= 1.0 and 0.0 <= figures["false_absent"] <= 1.0
    assert np.isclose(sum(k["n"] for k in figures["by_kind"].values()), figures["n"])
