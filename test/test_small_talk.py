"""Greetings, thanks and goodbyes get a reply in kind (``leovl_ros.agent.small_talk``), through the Answerer too, and
nothing that asks something is taken for them."""

from __future__ import annotations

import numpy as np
import pytest
from dialogue_fixtures import FEATURE_DIM, build_tiny_model, fused_store

from leovl_ros.agent.answering import Answerer, load_agent
from leovl_ros.agent.map_handle import MapHandle
from leovl_ros.agent.small_talk import (
    GOODBYE_REPLY,
    GREETING_REPLY,
    IDENTITY_REPLY,
    OK_REPLY,
    OUTSIDE_REPLY,
    THANKS_REPLY,
    small_talk_reply,
)


@pytest.mark.parametrize("text, reply", [
    ("hello", GREETING_REPLY), ("Hi robot!", GREETING_REPLY), ("🙂 hello!!!", GREETING_REPLY),
    ("  hey there ", GREETING_REPLY),
    ("Good morning.", GREETING_REPLY), ("hello, how are you?", GREETING_REPLY),
    ("thanks!", THANKS_REPLY), ("Thank you very much.", THANKS_REPLY), ("many thanks", THANKS_REPLY),
    ("thanks, that's all", THANKS_REPLY), ("great, thanks", THANKS_REPLY),
    ("bye", GOODBYE_REPLY), ("Goodbye!", GOODBYE_REPLY), ("see you later", GOODBYE_REPLY),
    ("ok", OK_REPLY), ("thats all", OK_REPLY), ("That's it.", OK_REPLY), ("never mind", OK_REPLY),
    ("who are you?", IDENTITY_REPLY), ("Hi robot, what's your name?", IDENTITY_REPLY),
    ("what are you doing?", IDENTITY_REPLY), ("what's the weather like today?", OUTSIDE_REPLY),
    ("tell me a joke", OUTSIDE_REPLY), ("who are you next to?", None), ("what is the weather in the photo?", None),
    ("hello, where is the bed?", None), ("hi, how many chairs are there?", None), ("thanks for the map", None),
    ("is there a chair?", None), ("what", None), ("", None),
])
def test_only_whole_messages_of_small_talk_are_answered_in_kind(text, reply):
    assert small_talk_reply(text) == reply


def test_no_generated_question_is_taken_for_small_talk():
    from leovl_ros.sim.tasks import TaskConfig, generate_samples
    from leovl_ros.sim.world import generate_scene

    texts = [s.question for seed in range(10) for wording in ("seen", "unseen")
             for s in generate_samples(generate_scene(seed), np.random.default_rng(seed), TaskConfig(wording=wording))]
    assert len(texts) > 500
    assert [t for t in texts if small_talk_reply(t) is not None] == []


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    return load_agent(str(build_tiny_model(tmp_path_factory.mktemp("tiny_model"))))


def test_the_answerer_replies_in_kind_instead_of_refusing_even_on_an_empty_map(agent):
    from leovl_ros.cfg.voxel_store import VoxelStore, VoxelStoreConfig

    answerer = Answerer(agent, MapHandle(fused_store()))
    reply = answerer.ask("Hello robot!")
    assert reply.success and reply.answer == GREETING_REPLY and not reply.cell_ids and reply.answer_tokens == 0
    assert answerer.ask("thanks").answer == THANKS_REPLY
    assert answerer.counters() == {"answered": 2}
    rejected = answerer.ask("hello blorp")  # not small talk: the scope check's as before
    assert not rejected.success and rejected.reason == "question_unknown_words"
    empty = Answerer(agent, MapHandle(VoxelStore(VoxelStoreConfig(feature_dim=FEATURE_DIM))))
    assert empty.ask("hi").answer == GREETING_REPLY
