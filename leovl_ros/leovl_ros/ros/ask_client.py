"""Ask a running dialogue node over DDS: what ``leovl-ask`` does without ``--map`` (``ros2 service call`` is not on
PyPI). One node and one ``leovl_interfaces/Ask`` client for the whole session, each reply as the ROS-free
:class:`~leovl_ros.agent.answering.Reply` so ``leovl-ask`` prints both paths alike."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Sequence
from typing import Any, Optional

from leovl_ros.agent.answering import Reply
from leovl_ros.geometry.transforms import quat_xyzw_to_yaw

DEFAULT_SERVICE = "/dialogue/ask"
"""The dialogue node's Ask service under its default name (``leovl-agent``, ``agent.launch.py``)."""


class ServiceUnavailable(RuntimeError):
    """No Ask service answered in time (no agent running, another ROS domain, an inactive lifecycle node)."""


def situation_placed(response: Any) -> tuple[float, float, float]:
    """The (x, y, yaw) of an ``Ask`` response's placed situation."""
    p, q = response.situation_placed.position, response.situation_placed.orientation
    return float(p.x), float(p.y), quat_xyzw_to_yaw((q.x, q.y, q.z, q.w))


def reply_from_response(response: Any) -> Reply:
    """An ``Ask`` response as a :class:`Reply`: the reason is the error text's counter name, ``last_seen`` None
    where the service says zero (unknown); the question types and the rewritten question as the node read them, so
    ``leovl-ask`` says the time sentence the node's ``~/answer`` says."""
    stamp = response.last_seen.sec + response.last_seen.nanosec * 1e-9
    return Reply(success=bool(response.success), answer=response.answer, confidence=float(response.confidence),
                 object_ids=list(response.object_ids), cell_ids=list(response.cell_ids),
                 scene_tokens=int(response.scene_tokens), latency_ms=float(response.latency_ms),
                 error=response.error, reason=response.error.split(":", 1)[0] if response.error else "",
                 last_seen=stamp if stamp > 0.0 else None, answer_types=list(response.answer_types),
                 read_as=response.read_as, spoken=response.spoken,
                 situation_placed=situation_placed(response) if response.has_situation_placed else None)


class LiveAsker:
    """``with LiveAsker(service) as asker: asker.ask("where is the chair?")`` — waits up to ``wait_s`` for the
    service on entry (:class:`ServiceUnavailable` otherwise) and up to ``timeout_s`` for each answer."""

    def __init__(self, service: str = DEFAULT_SERVICE, wait_s: float = 10.0, timeout_s: float = 60.0) -> None:
        self.service, self.wait_s, self.timeout_s = service, wait_s, timeout_s
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> LiveAsker:
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.node import Node

        from leovl_interfaces.srv import Ask
        from leovl_ros.ros.node_main import rclpy_session

        self._stack.__enter__()
        try:
            self._stack.enter_context(rclpy_session(["leovl_ask"]))
            self._node = Node("leovl_ask")
            self._stack.callback(self._node.destroy_node)
            self._executor = SingleThreadedExecutor()
            self._executor.add_node(self._node)
            self._stack.callback(self._executor.shutdown)
            self._client = self._node.create_client(Ask, self.service)
            self._request_type = Ask.Request
            if not self._spin_until(self._client.service_is_ready, self.wait_s):
                domain = os.environ.get("ROS_DOMAIN_ID", "0")
                raise ServiceUnavailable(
                    f"no Ask service {self.service} on ROS_DOMAIN_ID {domain} after {self.wait_s:g} s: is the agent "
                    f"running (leovl-agent, leovl-agent --demo, ros2 launch leovl_ros agent.launch.py) and active, "
                    f"in this domain and namespace? (--service names another one; --map asks a saved map instead)")
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stack.close()

    def _spin_until(self, done: Any, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while not done():
            if time.monotonic() >= deadline:
                return False
            self._executor.spin_once(timeout_sec=0.05)
        return True

    def ask(self, question: str, session: str = "", situation: str = "",
            pose: Optional[Sequence[float]] = None) -> Reply:
        """One question (``pose``: x, y, z, qx, qy, qz, qw in the map frame, or None); a reply with
        ``reason`` "timeout" when no answer came within ``timeout_s``."""
        request = self._request_type(question=question, session_id=session, situation_text=situation)
        if pose is not None:
            p, q = request.situation_pose.position, request.situation_pose.orientation
            (p.x, p.y, p.z), (q.x, q.y, q.z, q.w) = map(float, pose[:3]), map(float, pose[3:])
            request.has_situation_pose = True
        t0 = time.perf_counter()
        future = self._client.call_async(request)
        if not self._spin_until(future.done, self.timeout_s):
            self._client.remove_pending_request(future)
            return Reply(success=False, error=f"timeout: no answer from {self.service} in {self.timeout_s:g} s",
                         reason="timeout", latency_ms=(time.perf_counter() - t0) * 1e3)
        return reply_from_response(future.result())
