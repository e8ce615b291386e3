"""In-process fusion node: map services answer 'busy' while a save runs; runtime parameter updates are validated."""

from __future__ import annotations

from pathlib import Path

import pytest
from rclpy.parameter import Parameter
from ros_helpers import RosProbe
from std_srvs.srv import Trigger

from leovl_interfaces.msg import FusionStatus
from leovl_interfaces.srv import MapFile
from leovl_ros.agent.map_handle import new_map_handle
from leovl_ros.cfg.stand_in import PooledColourEncoder
from leovl_ros.ros.fusion_node import FusionNode
from leovl_ros.ros.lifecycle import bring_up

pytestmark = pytest.mark.ros


def test_calls_during_a_save_are_refused_as_busy(tmp_path: Path) -> None:
    with RosProbe() as probe:
        shared = new_map_handle(8)  # empty, as bring-up hands it to both nodes
        node = FusionNode(map_handle=shared, encoder=PooledColourEncoder(feature_dim=8), context=probe.context,
                          node_name="fusion_busy", parameter_overrides=[Parameter("status_rate", value=20.0)])
        bring_up([node])
        assert node.map_handle is shared, "an empty shared map must be used, not replaced"
        probe.executor.add_node(node)
        try:
            statuses = probe.collect(FusionStatus, "/fusion_busy/status")
            save = probe.wait_for_service(MapFile, "/fusion_busy/save_map")
            load = probe.wait_for_service(MapFile, "/fusion_busy/load_map")
            reset = probe.wait_for_service(Trigger, "/fusion_busy/reset")
            assert probe.call(save, MapFile.Request(path=str(tmp_path / "a.map"))).success
            with node.map_handle.exclusive_io("save"):  # a save in progress
                for client, request in ((save, MapFile.Request(path=str(tmp_path / "b.map"))),
                                        (load, MapFile.Request(path=str(tmp_path / "a.map"))),
                                        (reset, Trigger.Request())):
                    reply = probe.call(client, request)
                    assert not reply.success and "busy" in reply.message, reply.message
            assert not (tmp_path / "b.map").exists()
            assert probe.call(load, MapFile.Request(path=str(tmp_path / "a.map"))).success
            assert probe.spin_until(lambda: bool(statuses), 10.0) and statuses[-1].frames_dropped == 0
            # Tunables change at run time (validated like the start config); structural parameters are read-only.
            ok, bad, read_only = node.set_parameters([Parameter("sync_slop", value=0.05),
                                                      Parameter("max_depth", value=-1.0),
                                                      Parameter("mode", value="eval")])
            assert ok.successful and node.config.sync_slop == 0.05 and node._sync.slops_ns[0] == 50_000_000
            assert not bad.successful and node.config.max_depth == 8.0
            assert not read_only.successful and node.config.mode == "live"
        finally:
            probe.executor.remove_node(node)
            node.destroy_node()
