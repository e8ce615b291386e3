"""A situation typed into the question (``leovl_ros.agent.inline_situation``): split from it, asked apart by the
Answerer, switchable; never split out of a question that places no asker; ``benchmarks/inline_situation.py``."""

from __future__ import annotations

import json

import pytest
from dialogue_fixtures import build_tiny_model, fused_store

from leovl_ros.agent.answering import Answerer, AnswererConfig, load_agent
from leovl_ros.agent.inline_situation import split_situation
from leovl_ros.agent.map_handle import MapHandle
from leovl_ros.agent.paths import REPO_ROOT, default_model_dir

BENCHMARK = REPO_ROOT / "benchmarks" / "inline_situation.py"


@pytest.mark.parametrize("text, parts", [
    ("I'm sitting on the bed. What is on my left?", ("I'm sitting on the bed", "What is on my left?")),
    ("I am standing at the chair facing the bed, is the lamp on my left or right?",
     ("I am standing at the chair facing the bed", "is the lamp on my left or right?")),
    ("I'm at the plant, looking towards the window. Guide me to the sofa",
     ("I'm at the plant, looking towards the window", "Guide me to the sofa")),
    ("imagine I am on the sofa; what is in front of me?", ("imagine I am on the sofa", "what is in front of me?")),
    ("Standing next to the chair and facing the bed, how many lamps are in front of me?",
     ("Standing next to the chair and facing the bed", "how many lamps are in front of me?")),
    ("standing at the door, is the bed to the left or the right of the toilet?", None),  # a viewpoint question
    ("Standing at the door and facing into the room, is the bed left of the lamp?", None),
    ("I'm looking for the chair, where is it?", None),   # places no asker
    ("I'm sitting on the bed.", None),                    # no question after it
    ("where is the bed?", None), ("Is the lamp on the desk, or the table?", None),
])
def test_a_leading_clause_that_places_the_asker_is_split_from_the_question(text, parts):
    assert split_situation(text) == parts


def test_no_question_asked_without_a_situation_is_split():
    from test_question_scope import written_questions

    texts = written_questions()
    assert len(texts) > 2000
    assert [t for t in texts if split_situation(t)] == []


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    return load_agent(str(build_tiny_model(tmp_path_factory.mktemp("tiny_model"))))


def test_the_answerer_asks_the_question_in_the_typed_situation_and_can_be_told_not_to(agent, monkeypatch):
    answerer = Answerer(agent, MapHandle(fused_store()))
    asked = []
    answer = agent.answer
    monkeypatch.setattr(agent, "answer", lambda *a, **kw: asked.append((a[1], kw["situation_text"]))
                        or answer(*a, **kw))
    reply = answerer.ask("I'm sitting on the bed. What is on my left?")
    assert reply.success and asked[-1] == ("What is on my left?", "I'm sitting on the bed")
    assert reply.read_as == "What is on my left? [situation: I'm sitting on the bed]"
    answerer.ask("I'm sitting on the bed. What is on my left?", situation_text="I am at the sofa")
    assert asked[-1] == ("I'm sitting on the bed. What is on my left?", "I am at the sofa")  # the request's wins
    answerer.config = AnswererConfig(inline_situation=False)
    answerer.ask("I'm sitting on the bed. What is on my left?")
    assert asked[-1] == ("I'm sitting on the bed. What is on my left?", "")


@pytest.mark.skipif(not (default_model_dir() / "model.safetensors").is_file(),
                    reason="needs the shipped model (models/default)")
def test_benchmark_prints_one_json_line(benchmark, capsys):
    benchmark.main(["--rooms", "1", "--frames", "8", "--questions", "2", "--threads", "1"])
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["benchmark"] == "inline_situation" and figures["n"] >= 1
    for key in ("em_apart", "em_inline", "em_inline_unsplit", "same_as_apart", "split"):
        assert 0.0 <= figures[key] <= 1.0, key
    assert benchmark.one_line("i'm at the sofa.", "Is the bed on my left?") == "I'm at the sofa. Is the bed on my left?"
