"""Two questions typed as one (``leovl_ros.agent.compound``): split only where a second question starts, asked in
turn by the Answerer with the later one's pronouns resolved, the answers joined, switchable; no question any
evaluation scores is split."""

from __future__ import annotations

import pytest
from dialogue_fixtures import build_tiny_model, fused_store

from leovl_ros.agent.answering import Answerer, AnswererConfig, load_agent
from leovl_ros.agent.compound import split_compound, with_pronouns_resolved
from leovl_ros.agent.map_handle import MapHandle


@pytest.mark.parametrize("text, parts", [
    ("where is the bed and what colour is it?", ["where is the bed?", "what colour is it?"]),
    ("What is on the nightstand, and how far is it from the bed?",
     ["What is on the nightstand?", "how far is it from the bed?"]),
    ("where is the chair? is it near the bed?", ["where is the chair?", "is it near the bed?"]),
    ("how many chairs; where are they", ["how many chairs?", "where are they?"]),
    ("find the lamp and also tell me its colour", ["find the lamp?", "tell me its colour?"]),
    ("what do you see, where are you and how big is the room?",
     ["what do you see?", "where are you?", "how big is the room?"]),
    ("how many lamps and chairs are there?", None), ("is the chair between the bed and the lamp?", None),
    ("which is bigger, the bed or the sofa?", None), ("where is the bed?", None),
    ("I'm on the bed. What is on my left and what is behind me?", None),  # the situation is split first
    ("what is next to the bed and is it", None),  # "is it" asks nothing of its own
    ("the bed and what colour is it?", None),  # the first part is no question
    ("What does the lamp look like and where is it?", None),  # one description
    (" and ".join(["where is the bed"] * 5) + "?", None),  # more than MAX_PARTS: asked whole
])
def test_a_second_question_is_split_where_it_starts(text, parts):
    assert split_compound(text) == parts


def test_no_written_question_is_split():
    from test_question_scope import written_questions

    texts = written_questions()
    assert len(texts) > 2000
    assert [t for t in texts if split_compound(t)] == []


def test_a_later_parts_pronouns_name_the_object_the_dialogue_is_about():
    assert with_pronouns_resolved("what colour is it?", "bed") == "what colour is the bed?"
    assert with_pronouns_resolved("tell me its colour", "lamp") == "tell me the lamp's colour"
    assert with_pronouns_resolved("where are they?", "chair") == "where are the chairs?"
    assert with_pronouns_resolved("is it near the bed?", "chair") == "is the chair near the bed?"
    assert with_pronouns_resolved("what colour is it?", None) == "what colour is it?"
    assert with_pronouns_resolved("what is in the kitchen?", "bed") == "what is in the kitchen?"  # no word split


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    return load_agent(str(build_tiny_model(tmp_path_factory.mktemp("tiny_model"))))


def test_the_answerer_asks_each_part_in_turn_and_joins_the_answers(agent, monkeypatch):
    answerer = Answerer(agent, MapHandle(fused_store()))
    asked = []
    answer = agent.answer
    monkeypatch.setattr(agent, "answer", lambda *a, **kw: asked.append(a[1]) or answer(*a, **kw))
    first, second = answerer.ask("how far is the bed from the chair?"), answerer.ask("what colour is the bed?")
    reply = answerer.ask("how far is the bed from the chair and what colour is it?", session_id="s")
    assert asked[-2:] == ["how far is the bed from the chair?", "what colour is the bed?"]
    assert reply.success and reply.read_as == "how far is the bed from the chair? | what colour is the bed?"
    parts = [a if len(a.split()) >= 4 else f"{q}: {a}" for q, a in
             (("how far is the bed from the chair", first.answer), ("what colour is the bed", second.answer))]
    assert reply.answer == "; ".join(dict.fromkeys(parts))
    assert reply.cell_ids[: len(first.cell_ids)] == first.cell_ids  # the first question's object first: the goal
    assert len(reply.cell_ids) == len(first.cell_ids) + len(second.cell_ids)
    assert reply.confidence == pytest.approx(min(first.confidence, second.confidence))
    failed = answerer.ask("where is the bed and where are my keys?")  # an object outside the model's classes
    assert not failed.success and "keys" in failed.error
    def broken(*a, **kw):
        if "colour" in a[1]:
            raise RuntimeError("out of memory")
        return answer(*a, **kw)
    monkeypatch.setattr(agent, "answer", broken)
    failed = answerer.ask("where is the bed and what colour is it?")  # the second part fails: the reply says so
    assert not failed.success and failed.reason == "model_error" and "out of memory" in failed.error
    monkeypatch.setattr(agent, "answer", lambda *a, **kw: asked.append(a[1]) or answer(*a, **kw))
    answerer.config = AnswererConfig(compound_questions=False)
    answerer.ask("where is the bed and what colour is it?")
    assert asked[-1] == "where is the bed and what colour is it?"
