"""The dialogue answer path without ROS: Answerer checks, busy refusal, empty map, KV reuse, leovl-ask, top-down PNG."""

from __future__ import annotations

import gc
import json
import threading

import numpy as np
import pytest
from dialogue_fixtures import build_tiny_model, fused_store

from leovl_ros.agent.answering import (
    EMPTY_MAP_REASON,
    Answerer,
    AnswererConfig,
    ModelNotFoundError,
    load_agent,
    situation_pose_matrix,
)
from leovl_ros.agent.map_handle import MapHandle


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny_model"))


@pytest.fixture(scope="module")
def agent(model_dir):
    return load_agent(str(model_dir))


@pytest.fixture()
def answerer(agent):
    return Answerer(agent, MapHandle(fused_store()), AnswererConfig(busy_timeout_s=0.2))


def test_answers_come_from_the_model_with_tokens_and_grounding(answerer):
    reply = answerer.ask("how many chairs are in the room?")
    assert reply.success, reply.error
    assert reply.error == "" and reply.answer_tokens > 0 and reply.scene_tokens > 0 and reply.latency_ms > 0
    assert 0.0 < reply.confidence <= 1.0
    assert reply.cell_ids and len(reply.grounding_xyz) == len(reply.cell_ids) == len(reply.grounding_size)
    assert all(0.1 <= s <= 5.0 for s in reply.grounding_size)
    xyz = np.asarray(reply.grounding_xyz)
    assert np.all((xyz[:, 0] > -0.5) & (xyz[:, 0] < 4.5) & (xyz[:, 1] > -0.5) & (xyz[:, 1] < 3.5))
    assert answerer.counters()["answered"] == 1


def test_scene_prefix_cached_per_map_version(answerer, agent):
    answerer.ask("what colour is the sofa?")
    cached = agent._scene
    answerer.ask("is there a lamp?")
    assert agent._scene is cached, "an unchanged map must reuse the scene prefix"
    with answerer.map.locked() as store:
        store.fuse(np.array([[2.0, 2.0, 1.0]], dtype=np.float32), np.ones((1, store.config.feature_dim), np.float32))
    reply = answerer.ask("is there a lamp?")
    assert reply.success and agent._scene is not cached and agent._scene.version == reply.map_version


def test_scene_cache_never_serves_another_store(agent):
    """A freed store's address is soon reused by a new one (CPython): the cache must not take the new for the old."""
    from leovl_ros.cfg.voxel_store import VoxelStore

    first = fused_store()
    agent.scene_prefix(first)
    old_address = id(first)
    assert not agent.has_scene_of(fused_store()), "a live store with the same version is another store"
    del first
    gc.collect()
    # objects of one size class: CPython usually hands the freed block to one of them (not always: no guarantee)
    fresh = [VoxelStore.__new__(VoxelStore) for _ in range(2000)]
    assert not any(agent.has_scene_of(store) for store in fresh), \
        f"a new store served the freed one's scene (address reused: {any(id(s) == old_address for s in fresh)})"


def test_scene_refresh_reuses_prefix_while_map_changes(agent):
    answerer = Answerer(agent, MapHandle(fused_store()), AnswererConfig(scene_refresh_s=60.0))
    first = answerer.ask("is there a lamp?")
    with answerer.map.locked() as store:
        store.fuse(np.array([[2.0, 2.0, 1.0]], dtype=np.float32), np.ones((1, store.config.feature_dim), np.float32))
        newer = store.version
    again = answerer.ask("is there a lamp?")
    assert again.success and again.map_version == first.map_version < newer, "within scene_refresh_s: cached"
    answerer.config = AnswererConfig(scene_refresh_s=0.0)
    assert answerer.ask("is there a lamp?").map_version == newer, "refresh 0: always the latest map"


@pytest.mark.parametrize("question, reason", [
    ("", "question_empty"),
    ("   \n", "question_empty"),
    ("x" * 10_240, "question_too_long"),
    ("what is \x00 this", "question_encoding"),
    (b"\xff\xfe broken", "question_encoding"),
    ("bad \ufffd char", "question_encoding"),
    ("asdf qwer?!", "question_unknown_words"),
    ("12345", "question_unknown_words"),
    ("when did you last see my keys?", "question_unknown_object"),
    ("is the cat on the sofa?", "question_unknown_object"),
])
def test_bad_questions_rejected_and_counted(answerer, question, reason):
    reply = answerer.ask(question)
    assert not reply.success and reply.reason == reason and reply.error.startswith(reason)
    assert answerer.counters()[reason] == 1
    assert answerer.ask("is there a lamp?").success, "the path keeps answering after a rejection"


def test_the_scope_check_names_the_unknown_object_and_can_be_turned_off(agent):
    answerer = Answerer(agent, MapHandle(fused_store()))
    reply = answerer.ask("is there a fridge next to the sofa?")
    assert not reply.success and reply.answer == "" and not reply.cell_ids
    assert "'fridge'" in reply.error and "sofa" in reply.error.split("it knows")[1]
    answerer.config = AnswererConfig(check_scope=False)
    assert answerer.ask("is there a fridge next to the sofa?").success


def test_other_words_for_a_class_reach_the_model_as_its_name_and_can_be_turned_off(agent):
    answerer = Answerer(agent, MapHandle(fused_store()))
    reply = answerer.ask("where is the armchair?", session_id="words")
    assert reply.success and reply.read_as == "where is the chair?"
    assert agent.history("words")[-1][0] == "where is the chair?"
    assert answerer.ask("how many waste baskets are there?").success  # a trash can, not a basket
    assert answerer.ask("is there a chair?").read_as == ""
    answerer.config = AnswererConfig(object_words=False)
    reply = answerer.ask("where is the armchair?", session_id="words-off")
    assert reply.success and reply.read_as == "" and agent.history("words-off")[-1][0] == "where is the armchair?"
    assert answerer.ask("how many waste baskets are there?").reason == "question_unknown_object"


def test_typing_slips_reach_the_model_put_right_and_can_be_turned_off(agent, monkeypatch):
    answerer = Answerer(agent, MapHandle(fused_store()))
    assert answerer.ask("how many chiars are there?").read_as == "how many chairs are there?"
    assert answerer.ask("wher is the armchiar?").read_as == "where is the chair?"  # slips, then the class name
    reply = answerer.ask("when did you last see my kyes?")  # "keys", not "yes": refused, as "keys" is
    assert reply.reason == "question_unknown_object" and "'keys'" in reply.error
    asked = []
    answer = agent.answer
    monkeypatch.setattr(agent, "answer", lambda *a, **kw: asked.append(kw["situation_text"]) or answer(*a, **kw))
    assert answerer.ask("what is on my left?", situation_text="I am sitting on the armchiar").success
    assert asked == ["i am sitting on the chair"]  # the situation is read as the question is
    answerer.config = AnswererConfig(correct_spelling=False)
    reply = answerer.ask("how many chiars are there?")
    assert reply.success and reply.read_as == ""


def test_where_are_you_is_answered_from_the_newest_fused_camera_pose(agent):
    from leovl_ros.agent.answering import NO_CAMERA_POSE_ANSWER

    store = fused_store()
    answerer = Answerer(agent, MapHandle(store))
    reply = answerer.ask("where are you?")
    assert reply.success and reply.answer == NO_CAMERA_POSE_ANSWER and not reply.cell_ids  # a map without one
    pose = np.eye(4)
    pose[:3, 3] = (2.0, 1.5, 1.0)
    store.note_camera(pose)
    reply = answerer.ask("Where are you now?")
    assert reply.success and reply.answer.startswith("I am ") and reply.answer_tokens == 0
    assert len(reply.grounding_xyz) == len(reply.cell_ids) == len(reply.grounding_size)
    assert answerer.counters()["answered"] == 2


def test_session_ids_unknown_accepted_malformed_rejected(answerer, agent):
    assert answerer.ask("is there a lamp?", session_id="never-seen-before").success
    assert len(agent.history("never-seen-before")) == 1
    assert answerer.ask("and a chair?", session_id="never-seen-before").success
    assert len(agent.history("never-seen-before")) == 2
    reply = answerer.ask("is there a lamp?", session_id="bad id with spaces")
    assert not reply.success and reply.reason == "session_invalid"


def test_situation_pose_checked(answerer):
    good = situation_pose_matrix((1.0, 1.0, 0.0), (0.0, 0.0, 0.7071068, 0.7071068))
    assert np.allclose(good[:3, 0], [0, 1, 0], atol=1e-6)
    assert answerer.ask("what is on my right?", situation_text="i sit on the sofa", situation_pose=good).success
    bad = situation_pose_matrix((1.0, 1.0, 0.0), (0.0, 0.0, 0.0, 0.0))
    reply = answerer.ask("what is on my right?", situation_pose=bad)
    assert not reply.success and reply.reason == "pose_invalid"


def test_empty_map_gets_clear_answer_without_model(agent):
    from leovl_ros.cfg.voxel_store import VoxelStore, VoxelStoreConfig

    answerer = Answerer(agent, MapHandle(VoxelStore(VoxelStoreConfig(feature_dim=16))))
    reply = answerer.ask("how many chairs?")
    assert not reply.success and reply.reason == EMPTY_MAP_REASON and "empty" in reply.answer


def test_busy_when_model_held(answerer):
    answerer._model_lock.acquire()
    try:
        reply = answerer.ask("is there a lamp?")
    finally:
        answerer._model_lock.release()
    assert not reply.success and reply.reason == "busy" and reply.latency_ms >= 150


def test_concurrent_requests_one_at_a_time(agent):
    answerer = Answerer(agent, MapHandle(fused_store()), AnswererConfig(busy_timeout_s=30.0))
    replies = []
    threads = [threading.Thread(target=lambda: replies.append(answerer.ask("is there a lamp?"))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(replies) == 3 and all(r.success for r in replies)


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(ModelNotFoundError, match="model checkpoint not found"):
        load_agent(str(tmp_path / "nowhere"))
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "config.yaml").write_text("format_version: 99\n")
    with pytest.raises(ModelNotFoundError, match="cannot load"):
        load_agent(str(tmp_path / "junk"))


def test_leovl_ask_cli(tmp_path, model_dir, capsys):
    from leovl_ros.agent.ask_cli import main

    fused_store().save(tmp_path / "map.safetensors")
    rc = main(["--map", str(tmp_path / "map.safetensors"), "--model", str(model_dir), "--json", "--session", "s1",
               "how many chairs?", "and tables?"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rc == 0 and len(lines) == 2
    assert all(r["success"] and r["scene_tokens"] > 0 and r["latency_ms"] > 0 for r in lines)
    assert all(r["model_answer"] != r["answer"] for r in lines)  # set only where the map measured another answer
    assert lines[1]["latency_ms"] < lines[0]["latency_ms"] + 1e4
    assert main(["--map", str(tmp_path / "map.safetensors"), "--model", str(model_dir), ""]) == 1
    assert main(["--map", str(tmp_path / "none.safetensors"), "--model", str(model_dir), "q"]) == 2
    assert "not found" in capsys.readouterr().err


def test_topdown_png(tmp_path):
    from leovl_ros.agent.topdown import plot_topdown
    from leovl_ros.cfg.condense import condense

    batch = condense(fused_store())
    path = np.c_[np.linspace(0.5, 3.5, 20), np.linspace(0.5, 2.5, 20), np.full(20, 1.2)]
    out = plot_topdown(batch.xy, batch.cell_size, batch.colour, tmp_path / "top.png", highlight=[0, 1],
                       highlight_xyz=[(1.2, 1.2, 0.4)], camera_path=path)
    import matplotlib.image as mpimg

    img = mpimg.imread(out)
    assert img.shape[0] > 300 and img.shape[1] > 300
    magenta = (img[..., 0] > 0.9) & (img[..., 1] < 0.1) & (img[..., 2] > 0.9)
    assert magenta.sum() > 50, "grounded cells/points must be highlighted"


def test_a_fault_inside_one_answer_is_that_answers_error_and_the_next_one_is_answered(answerer, monkeypatch):
    """A bug in measuring an answer (any exception type) refuses that question as ``model_error``, named; the
    answer path, its lock and its counters stay intact."""
    import leovl_ros.model.leovl as leovl

    def broken(*args, **kwargs):
        raise IndexError("list index out of range")

    with monkeypatch.context() as patch:
        patch.setattr(leovl, "measured_answer", broken)
        reply = answerer.ask("how many chairs are in the room?")
    assert not reply.success and reply.reason == "model_error"
    assert reply.error == "model_error: IndexError: list index out of range"
    again = answerer.ask("how many chairs are in the room?")
    assert again.success, again.error
    assert answerer.counters()["model_error"] == 1 and answerer.counters()["answered"] == 1
