"""'Where is it?' after a question about the lamp (``leovl_ros.agent.referents``): the pronoun read as the session's
last object where a map reader takes the question, never in the follow-ups the model was trained on; "and the
chair?" after "what colour is the bed?" asked as "what colour is the chair?"."""

from __future__ import annotations

import numpy as np
import pytest
from dialogue_fixtures import build_tiny_model, fused_store

from leovl_ros.agent.answering import Answerer, load_agent
from leovl_ros.agent.map_handle import MapHandle
from leovl_ros.agent.referents import NO_REFERENT_ANSWER, Referents, follow_up, needs_referent, with_referent
from leovl_ros.model.voxel_questions import asks_about_one_object


@pytest.mark.parametrize("question, resolved", [
    ("where is it?", "where is the lamp?"), ("How tall is it", "How tall is the lamp"),
    ("when did you last see it?", "when did you last see the lamp?"), ("describe it", "describe the lamp"),
    ("how big is that one?", "how big is the lamp?"), ("where was that?", "where was the lamp?"),
    ("take me to it", "take me to the lamp"), ("is it on my left or right?", "is the lamp on my left or right?"),
    ("what colour is it?", "what colour is the lamp?"), ("And its color?", "And the lamp's color?"),  # measured on
    ("What is next to it?", "What is next to the lamp?"), ("What is it standing on?", "What is the lamp standing on?"),
    ("how many of them are there?", None), ("is it big?", None),  # the map reads these of the named object
    ("where is the bed?", None),  # names its own object
    ("where is everything?", None), ("how many are there?", None),
    ("take me there", "take me to the lamp"), ("How do I get there?", "How do I get to the lamp?"),
    ("is there a chair?", None), ("what is there?", None),
    ("is it red?", "is the lamp red?"), ("is it gray or brown?", "is the lamp gray or brown?"),
    ("is there anything on it?", "is there anything on the lamp?"), ("is it on?", "is the lamp on?"),
])
def test_a_pronoun_becomes_the_last_object_where_a_reader_takes_the_question(question, resolved):
    assert with_referent(question, "lamp", asks_about_one_object) == resolved
    assert with_referent(question, None, asks_about_one_object) is None


def test_the_last_object_is_the_answers_first_class_else_the_questions_per_session():
    referents = Referents(max_sessions=2)
    referents.note("a", "what is next to the bed?", "lamp")
    referents.note("b", "is there a sofa?", "no")
    referents.note("a", "what colour is it?", "gray")  # names nothing: the lamp stays
    assert (referents.get("a"), referents.get("b")) == ("lamp", "sofa")
    referents.note("c", "is there a chair?", "yes")  # a third session: the oldest one is forgotten
    assert referents.get("b") is None and referents.get("c") == "chair" and referents.get("a") == "lamp"


def test_generated_follow_ups_are_rewritten_only_where_they_ask_the_objects_colour_support_or_neighbour():
    from leovl_ros.sim.tasks import TaskConfig, generate_samples
    from leovl_ros.sim.world import generate_scene

    samples = [s for seed in range(20) for wording in ("seen", "unseen")
               for s in generate_samples(generate_scene(seed), np.random.default_rng(seed),
                                         TaskConfig(wording=wording))]
    rewritten = {s.question_type for s in samples if with_referent(s.question, "lamp", asks_about_one_object)}
    assert rewritten == {"colour", "spatial_relation"}  # the dialogue follow-ups "and its colour?", "what is it on?"
    assert all(s.history for s in samples if with_referent(s.question, "lamp", asks_about_one_object))
    assert sum(bool(s.history) for s in samples) > 50


@pytest.mark.parametrize("text, previous, asked", [
    ("and the chair?", "what colour is the bed?", "what colour is the chair?"),
    ("What about the lamps?", "how many chairs are there?", "how many lamps are there?"),
    ("and pillows", "how many lamps are there?", "how many pillows are there?"),  # the plural kept
    ("how about the red chair?", "where is the bed?", "where is the red chair?"),
    ("and the couch?", "where is the red bed?", "where is the sofa?"),  # the earlier colour goes with its object
    ("and its colour?", "where is the bed?", None), ("and the chair?", "how far is the bed from the lamp?", None),
    ("and the chair next to the bed?", "what colour is the lamp?", None), ("and then?", "where is the bed?", None),
    ("and the chair?", None, None), ("and the chair?", "what do you see?", None),
])
def test_an_elliptic_follow_up_asks_the_last_question_about_another_object(text, previous, asked):
    assert follow_up(text, previous) == asked


def test_no_written_question_is_read_as_a_follow_up():
    from test_question_scope import written_questions

    texts = written_questions()
    assert len(texts) > 2000
    assert [t for t in texts if follow_up(t, "what colour is the bed?")] == []


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    return load_agent(str(build_tiny_model(tmp_path_factory.mktemp("tiny_model"))))


def test_the_answerer_reads_the_pronoun_per_session(agent):
    answerer = Answerer(agent, MapHandle(fused_store()))
    assert answerer.ask("is there a lamp?", session_id="one").success
    reply = answerer.ask("where is it?", session_id="one")
    assert reply.success and reply.read_as == "where is the lamp?"
    reply = answerer.ask("where is it?", session_id="two")  # another session: nothing to refer to
    assert reply.success and reply.answer == NO_REFERENT_ANSWER and reply.read_as == "" and not reply.cell_ids
    room = answerer.ask("what does it look like around here?", session_id="three")  # its "it" is the room
    assert room.success and room.answer != NO_REFERENT_ANSWER and room.read_as == ""
    assert needs_referent("how tall is it?", asks_about_one_object)
    assert needs_referent("what colour is it?", asks_about_one_object)  # the map measures the named object
    assert not needs_referent("how many of them are there?", asks_about_one_object)  # the model reads its history


def test_the_answerer_asks_a_follow_up_as_the_sessions_last_question(agent):
    answerer = Answerer(agent, MapHandle(fused_store()))
    assert answerer.ask("what colour is the bed?", session_id="f").success
    reply = answerer.ask("and the chair?", session_id="f")
    assert reply.success and reply.read_as == "what colour is the chair?"
    assert answerer.ask("what about the lamp?", session_id="f").read_as == "what colour is the lamp?"  # in a chain
    assert answerer.ask("and the chair?", session_id="g").read_as == ""  # another session: nothing to follow
