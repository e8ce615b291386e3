"""The dialogue node's ``~/ask`` reply carries the answer's ``last_seen`` (builtin_interfaces/Time) over real DDS."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from dialogue_fixtures import FEATURE_DIM, build_tiny_model
from ros_helpers import RosProbe, node_process

from leovl_interfaces.srv import Ask
from leovl_ros.agent.answering import Reply
from leovl_ros.cfg import VoxelStore, VoxelStoreConfig

pytestmark = pytest.mark.ros

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
        rejected = probe.call(client, Ask.Request(question=""), timeout=30.0)
        assert not rejected.success and (rejected.last_seen.sec, rejected.last_seen.nanosec) == (0, 0)
