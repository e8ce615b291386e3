"""The dialogue node's ``~/ask`` reply carries the answer's ``last_seen`` (builtin_interfaces/Time), the sentence
``~/answer`` says, the question types and where a situation text put the asker over real DDS; ``leovl-ask`` reads
them back as the ROS-free path's."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from dialogue_fixtures import FEATURE_DIM, build_tiny_model
from ros_helpers import RosProbe, node_process

from leovl_interfaces.srv import Ask
from leovl_ros.agent.answering import Answerer, Reply, load_agent
from leovl_ros.agent.map_handle import MapHandle
from leovl_ros.agent.paths import REPO_ROOT, default_model_dir
from leovl_ros.agent.spoken import clock_words
from leovl_ros.cfg import VoxelStore, VoxelStoreConfig
from leovl_ros.cfg.pipeline import FrameFuser, load_encoder
from leovl_ros.ros.ask_client import reply_from_response

pytestmark = pytest.mark.ros
BENCHMARK = REPO_ROOT / "benchmarks" / "last_seen.py"

STAMPS = (1_764_892_800.125, 1_764_892_801.5, 1_764_892_802.875)
"""Sensor times of the three fused batches (floor, box A, box B)."""


def _stamped_map(path) -> None:
    """A 4 m × 3 m floor and two boxes, each fused at its own stamp, saved to ``path``."""
    rng = np.random.default_rng(0)
    store = VoxelStore(VoxelStoreConfig(feature_dim=FEATURE_DIM))
    parts = (np.c_[rng.uniform(0, 4, 4000), rng.uniform(0, 3, 4000), np.zeros(4000)],
             rng.uniform([1.0, 1.0, 0.0], [1.5, 1.5, 0.8], (1000, 3)),
             rng.uniform([3.0, 2.0, 0.0], [3.4, 2.6, 0.5], (1000, 3)))
    for points, stamp in zip(parts, STAMPS):
        store.fuse(torch.as_tensor(points, dtype=torch.float32), torch.randn(len(points), FEATURE_DIM), stamp=stamp)
    store.save(path)


def test_ask_reply_carries_the_grounded_cells_last_seen(tmp_path):
    _stamped_map(tmp_path / "map.safetensors")
    params = {"model_path": str(build_tiny_model(tmp_path / "model")), "map_file": str(tmp_path / "map.safetensors")}
    allowed = {Reply(success=True, last_seen=s).last_seen_time() for s in STAMPS}
    with node_process("leovl_ros.ros.dialogue_node", params) as node, RosProbe() as probe:
        client = probe.wait_for_service(Ask, "/dialogue/ask", timeout=120.0, proc=node)
        reply = probe.call(client, Ask.Request(question="when did you last see the box?"), timeout=30.0)
        assert reply.success and reply.cell_ids, reply.error + node.log()
        assert (reply.last_seen.sec, reply.last_seen.nanosec) in allowed
        assert list(reply.answer_types) == [] and reply.spoken == reply.answer  # no type head: said as answered
        rejected = probe.call(client, Ask.Request(question=""), timeout=30.0)
        assert not rejected.success and (rejected.last_seen.sec, rejected.last_seen.nanosec) == (0, 0)
        assert rejected.spoken == "" and list(rejected.answer_types) == []


@pytest.mark.skipif(not (default_model_dir() / "model.safetensors").is_file(),
                    reason="needs the shipped model (models/default)")
def test_the_ask_reply_says_the_time_sentence_the_answer_topic_says(benchmark, tmp_path):
    """Over DDS with the shipped model, a last-seen question's reply carries the question types, the rewritten
    question and the sentence ``~/answer`` says ("I last saw the bed 3 s ago, at …"), as the ROS-free path reads
    them on the same map: ``leovl-ask`` against the running agent shows what ``--map`` shows."""
    seed = benchmark.held_out_seeds(1)[0]
    room = benchmark.fuse_room(seed, FrameFuser(load_encoder()), benchmark.parse_args(["--frames", "24"]))
    room.store.save(tmp_path / "map.safetensors")
    unique = [o.cls for o in room.scene.objects
              if o.id in room.last_visible and sum(p.cls == o.cls for p in room.scene.objects) == 1]
    assert len(unique) >= 2, "the walk shows fewer than two objects that are the only ones of their class"
    questions = [f"when did you last see the {unique[0]}?", f"when did you last see teh {unique[0]}?"]
    ros_free = Answerer(load_agent(""), MapHandle(room.store))
    expected = [ros_free.ask(q, session_id=str(i)) for i, q in enumerate(questions)]
    assert expected[1].read_as == questions[0] and not expected[0].read_as
    situation = f"I am sitting on the {unique[0]} facing the {unique[-1]}"  # placed where the map shows both
    situated = ros_free.ask("what is on my left?", session_id="s", situation_text=situation)
    with node_process("leovl_ros.ros.dialogue_node", {"map_file": str(tmp_path / "map.safetensors")}) as node, \
            RosProbe() as probe:
        client = probe.wait_for_service(Ask, "/dialogue/ask", timeout=120.0, proc=node)
        replies = [probe.call(client, Ask.Request(question=q, session_id=str(i)), timeout=60.0)
                   for i, q in enumerate(questions)]
        placed = probe.call(client, Ask.Request(question="what is on my left?", session_id="s",
                                                situation_text=situation), timeout=60.0)
    assert placed.success and placed.has_situation_placed == (situated.situation_placed is not None)
    if situated.situation_placed is not None:
        assert reply_from_response(placed).situation_placed == pytest.approx(situated.situation_placed, abs=1e-5)
    for want, got in zip(expected, replies):
        assert got.success, got.error
        assert "last_seen" in want.answer_types and list(got.answer_types) == want.answer_types
        said = reply_from_response(got)
        assert (said.read_as, said.spoken) == (want.read_as, got.spoken)
        if got.answer == unique[0] and said.last_seen is not None:  # the class, with its time from the map
            assert got.spoken.startswith(f"I last saw the {unique[0]} "), got.spoken
            assert got.spoken.endswith(f"at {clock_words(said.last_seen)}"), got.spoken
        else:
            assert got.spoken == got.answer
