"""Per-node executor threads (leovl_ros.ros.executors): each node spins in its own thread, a slow callback in one
node does not hold up another node's service, and stop() ends the threads."""

from __future__ import annotations

import threading
import time

import pytest
import rclpy
from rclpy.context import Context
from rclpy.node import Node
from ros_helpers import RosProbe
from std_srvs.srv import Trigger

from leovl_ros.ros.executors import EXECUTOR_KINDS, NodeThreads, make_executor

pytestmark = pytest.mark.ros


def test_unknown_kind_is_refused() -> None:
    context = Context()
    rclpy.init(context=context)
    try:
        with pytest.raises(ValueError, match="events"):
            make_executor("events", context)
        assert EXECUTOR_KINDS == ("single", "multi")
    finally:
        rclpy.try_shutdown(context=context)


@pytest.mark.parametrize("kind", EXECUTOR_KINDS)
def test_a_busy_node_does_not_block_another_nodes_service(kind: str) -> None:
    context = Context()
    rclpy.init(context=context)
    release = threading.Event()
    try:
        slow = Node("executors_slow", context=context)
        fast = Node("executors_fast", context=context)
        slow.create_timer(0.01, lambda: release.wait(5.0))  # occupies its executor until released
        fast.create_service(Trigger, "~/ping", lambda req, res: Trigger.Response(success=True, message="pong"))
        spinner = NodeThreads([slow, fast], kind, threads=2).start()
        try:
            with RosProbe() as probe:
                client = probe.wait_for_service(Trigger, "/executors_fast/ping", timeout=20.0)
                t0 = time.monotonic()
                reply = probe.call(client, Trigger.Request(), timeout=3.0)
                assert reply.success and reply.message == "pong"
                assert time.monotonic() - t0 < 3.0
            assert spinner.alive()
        finally:
            release.set()
            spinner.stop(timeout_s=2.0)
        assert not any(t.is_alive() for t in spinner._threads)
        slow.destroy_node()
        fast.destroy_node()
    finally:
        release.set()
        rclpy.try_shutdown(context=context)
