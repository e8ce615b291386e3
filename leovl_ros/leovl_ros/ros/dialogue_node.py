"""Dialogue node: spatial questions about the fused map answered by the LEO-VL model, with grounding and goals.

Endpoints (all names relative, so remappable):

* ``~/ask`` (leovl_interfaces/srv/Ask): question, session, situation → answer, grounding, scene tokens, latency.
* ``~/question`` (std_msgs/String) → ``~/answer`` (std_msgs/String): the same path for plain topic users
  (session ``topic_session_id``), in words a person reads: "when did you last see the bed?" gets "I last saw the
  bed 12 s ago, at …" (``agent.spoken``; the service gives "bed" and the time in ``last_seen``).
* ``~/grounding`` (visualization_msgs/MarkerArray): the grounded CFG cells of the last answer (squares of
  their size), the primary one as a sphere, and the answer text.
* ``~/goal`` (geometry_msgs/PoseStamped in ``frame_id``): the primary grounded object's position, facing away
  from the asker (situation pose, else the last camera pose on ``pose_topic``) — a goal Nav2 can take. Sent on to
  ``nav_goal`` (remap to Nav2's ``goal_pose``) only with ``send_nav_goal: true``.
* ``~/status`` (diagnostic_msgs/DiagnosticArray): the node's /diagnostics status (answered and
  rejected-by-reason counters, latency, map, model) at ``status_period_s``.

A managed (lifecycle) node (``leovl_ros.ros.lifecycle``): configure validates the parameters, loads the model
(a missing checkpoint fails configure with the reason; with ``autostart`` the executable then exits with code 2)
and the map, and makes the publishers; activate offers ``~/ask`` and subscribes ``~/question`` and the camera
pose (an inactive node is simply not there to ask, like Nav2's servers); deactivate removes them; cleanup
releases the model. ``/diagnostics``: model, answer latency over a window, map size and age (``diagnostics.*``).

The map is the ``MapHandle`` the fusion node writes when both run in one process (``leovl_ros.ros.bringup``: the
fusion node must be configured first); run alone (``dialogue_node`` executable) it answers over a saved map
given by the ``map_file`` parameter.
The ask service runs in its own reentrant callback group and the model allows one request at a time
(``busy_timeout_s``), so questions never occupy the executor threads that the fusion node's sensor callbacks use.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, Optional, Union

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Point, PoseStamped
from rcl_interfaces.msg import SetParametersResult
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from std_msgs.msg import ColorRGBA, String
from visualization_msgs.msg import Marker, MarkerArray

from leovl_interfaces.srv import Ask
from leovl_ros.agent.answering import Answerer, Reply, load_agent, situation_pose_matrix
from leovl_ros.agent.diagnostics import DialogueDiagnosticsConfig, Health, TimedWindow, dialogue_health
from leovl_ros.agent.map_handle import MapHandle
from leovl_ros.agent.node_config import DialogueConfig
from leovl_ros.agent.spoken import spoken_answer
from leovl_ros.geometry.transforms import yaw_to_quat_xyzw
from leovl_ros.ros.diagnostics import diagnostic_array
from leovl_ros.ros.lifecycle import ManagedNode
from leovl_ros.ros.params import read_config, validate_update
from leovl_ros.ros.qos import latched_qos, reliable_qos, sensor_qos

NODE_NAME = "dialogue"
"""Default node name (the keys of ``config/agent.yaml``)."""


def set_planar_pose(pose: Any, x: float, y: float, yaw: float, z: float = 0.0) -> None:
    """Fill a ``geometry_msgs/Pose`` with a position and a heading ``yaw`` (rad from +x, about z up)."""
    pose.position.x, pose.position.y, pose.position.z = float(x), float(y), float(z)
    _, _, pose.orientation.z, pose.orientation.w = (float(v) for v in yaw_to_quat_xyzw(yaw))


def goal_pose(target: np.ndarray, origin: Optional[np.ndarray]) -> tuple:
    """(x, y, z) of ``target`` and the (x, y, z, w) yaw quaternion facing from ``origin`` towards it (z up)."""
    yaw = 0.0
    if origin is not None:
        dx, dy = float(target[0] - origin[0]), float(target[1] - origin[1])
        if math.hypot(dx, dy) > 1e-6:
            yaw = math.atan2(dy, dx)
    return (float(target[0]), float(target[1]), float(target[2])), tuple(float(v) for v in yaw_to_quat_xyzw(yaw))


MapSource = Union[MapHandle, Callable[[], Optional[MapHandle]], None]
"""A map, a function returning the shared one at configure (bring-up: the fusion node's), or None (own map)."""


class DialogueNode(ManagedNode):
    """Answers questions over a shared (or loaded) map; publishes answers, grounding markers and goals."""

    DIAGNOSTICS_CONFIG = DialogueDiagnosticsConfig
    DIAGNOSTICS_TASK = "answers"

    def __init__(self, map_handle: MapSource = None, agent: Any = None, node_name: str = NODE_NAME,
                 recorder: Any = None, **kwargs: Any) -> None:
        """Declare the parameters; the node starts unconfigured. ``map_handle``: the live map (or a function
        returning it at configure), else the ``map_file`` map; ``agent`` replaces the configured model;
        ``recorder`` (``agent.recording.Recorder``) also logs every question with its answer and grounding."""
        super().__init__(node_name, **kwargs)
        self.recorder = recorder
        self.declare_config_parameters(DialogueConfig)
        self.config: Optional[DialogueConfig] = None
        self._map_source = map_handle
        self._given_agent = agent
        self.map: Optional[MapHandle] = None
        self.answerer: Optional[Answerer] = None
        self.cfg_encoder_backend = ""
        self._camera_xyz: Optional[np.ndarray] = None
        self._logged_reasons: set = set()
        self._latencies: TimedWindow[float] = TimedWindow(self.diagnostics_config.window_s)
        self._map_seen = (-1, time.monotonic())  # (map version, when it was first seen)
        self.add_on_set_parameters_callback(self._on_set_parameters)

    # ---- lifecycle -------------------------------------------------------------------------------------------
    def configure_node(self) -> None:
        """Validate the parameters, get the map, load and deploy the model, make the publishers."""
        self.config = c = read_config(self, DialogueConfig)
        self.map = self._resolve_map()
        self.answerer = Answerer(self._given_agent if self._given_agent is not None
                                 else load_agent(c.model_path, c.device, c.max_sessions),
                                 self.map, c.answerer_config())
        self.cfg_encoder_backend = self._deploy_cfg_encoder()
        self._latencies = TimedWindow(self.diagnostics_config.window_s)
        self._answer_pub = self.create_lifecycle_publisher(String, "~/answer", reliable_qos())
        self._grounding_pub = self.create_lifecycle_publisher(MarkerArray, "~/grounding", latched_qos())
        self._goal_pub = self.create_lifecycle_publisher(PoseStamped, "~/goal", latched_qos())
        # A robot moves only when the user asked for it: no navigation publisher unless send_nav_goal.
        self._nav_goal_pub = (self.create_lifecycle_publisher(PoseStamped, "nav_goal", reliable_qos(1))
                              if c.send_nav_goal else None)
        self._status_pub = self.create_lifecycle_publisher(DiagnosticArray, "~/status", reliable_qos(1))
        self.get_logger().info(
            f"dialogue configured: model {c.model_path or 'default'} on {c.device}, map "
            f"{'shared in-process' if self._map_source is not None else (c.map_file or 'empty')} "
            f"({len(self.map)} voxels), frame {c.frame_id}")

    def activate_node(self) -> None:
        """Offer ~/ask, subscribe ~/question and the camera pose, start ~/status."""
        c = self.config
        assert c is not None
        ask_group, topic_group = ReentrantCallbackGroup(), MutuallyExclusiveCallbackGroup()
        self.create_service(Ask, "~/ask", self._on_ask, callback_group=ask_group)
        self.create_subscription(String, "~/question", self._on_question, reliable_qos(), callback_group=topic_group)
        self.create_subscription(PoseStamped, c.pose_topic, self._on_camera_pose, sensor_qos(),
                                 callback_group=topic_group)
        self.create_timer(c.status_period_s, self._publish_status, callback_group=topic_group)
        self.get_logger().info("dialogue ready: ~/ask and ~/question answer")

    def cleanup_node(self) -> None:
        """Release the model and the map reference (the publishers go with the configuration)."""
        self.answerer = None
        self.map = None
        self.config = None
        self.cfg_encoder_backend = ""

    def _resolve_map(self) -> MapHandle:
        """The shared map (a bring-up hands a function: the fusion node must be configured first), else an own one."""
        source = self._map_source
        if source is None:
            return self._standalone_map()
        handle = source if isinstance(source, MapHandle) else source()
        if handle is None:
            raise RuntimeError("the shared map does not exist yet: configure the fusion node first")
        return handle

    def _deploy_cfg_encoder(self) -> str:
        """Run the model's CFG encoder on the runtime the ``backend`` parameters select; returns the description
        (logged once, and in ``~/status``). A strict backend that does not work here is a start error."""
        from leovl_ros.runtime.backends import BackendUnavailable
        from leovl_ros.runtime.deploy import deploy_cfg_encoder, describe

        model = getattr(self.answerer.agent, "model", None)
        if model is None or not hasattr(model, "cfg_encoder"):
            return "n/a (agent without a CFG encoder)"
        import torch

        c = self.config
        try:
            backend = deploy_cfg_encoder(model, c.deploy_config(), device=c.device,
                                         threads=max(1, torch.get_num_threads()))
        except BackendUnavailable as exc:
            raise RuntimeError(f"CFG encoder backend {c.backend!r} unusable: {exc}") from exc
        text = describe(backend)
        self.get_logger().info(f"CFG encoder runtime: {text}")
        return text

    def _standalone_map(self) -> MapHandle:
        """An own map: loaded from ``map_file`` (a bad file is a configuration error), else empty."""
        from leovl_ros.cfg.voxel_store import VoxelStore, VoxelStoreConfig

        return MapHandle(VoxelStore.from_file(self.config.map_file) if self.config.map_file
                         else VoxelStore(VoxelStoreConfig()))

    def _on_set_parameters(self, params: list) -> SetParametersResult:
        """Runtime updates of the tunables: validated with the config's rules, applied to the answer path (an
        unconfigured node checks them at configure)."""
        if self.config is None:
            return SetParametersResult(successful=True)
        result, new = validate_update(self.config, params)
        if result.successful:
            self.config = new
            if self.answerer is not None:
                self.answerer.config = new.answerer_config()
        return result

    # ---- callbacks -------------------------------------------------------------------------------------------
    def _on_ask(self, request: Ask.Request, response: Ask.Response) -> Ask.Response:
        """Service: validate, answer, publish grounding/goal, fill the response."""
        pose = None
        if request.has_situation_pose:
            p, q = request.situation_pose.position, request.situation_pose.orientation
            pose = situation_pose_matrix((p.x, p.y, p.z), (q.x, q.y, q.z, q.w))
        reply = self.answerer.ask(request.question, request.session_id, request.situation_text, pose)
        self._after_reply(request.question, reply, pose)
        response.success = reply.success
        response.answer = reply.answer
        response.confidence = float(reply.confidence)
        response.object_ids = [int(i) for i in reply.object_ids]
        response.cell_ids = [int(i) for i in reply.cell_ids]
        response.scene_tokens = int(reply.scene_tokens)
        response.latency_ms = float(reply.latency_ms)
        response.error = reply.error
        response.last_seen.sec, response.last_seen.nanosec = reply.last_seen_time()
        response.spoken = self._spoken(reply, request.question) if reply.answer else ""
        response.read_as = reply.read_as
        response.answer_types = list(reply.answer_types)
        if reply.situation_placed is not None:
            set_planar_pose(response.situation_placed, *reply.situation_placed)
            response.has_situation_placed = True
        return response

    def _on_question(self, msg: String) -> None:
        """Topic: answer on ``~/answer`` (the error text when rejected)."""
        reply = self.answerer.ask(msg.data, self.config.topic_session_id)
        self._after_reply(msg.data, reply, None)
        self._answer_pub.publish(String(data=self._spoken(reply, msg.data) if reply.answer
                                        else f"error: {reply.error}"))

    def _spoken(self, reply: Reply, question: str) -> str:
        """The answer as a person reads it, its "ago" on this node's clock (sim time during a replay)."""
        return spoken_answer(reply, self.get_clock().now().nanoseconds * 1e-9, question)

    def _on_camera_pose(self, msg: PoseStamped) -> None:
        """Remember where the camera is (the default origin a goal faces away from)."""
        p = msg.pose.position
        xyz = np.array([p.x, p.y, p.z], dtype=np.float64)
        if np.all(np.isfinite(xyz)):
            self._camera_xyz = xyz

    # ---- outputs ---------------------------------------------------------------------------------------------
    def _after_reply(self, question: str, reply: Reply, situation_pose: Optional[np.ndarray]) -> None:
        """Record the exchange; log rejections once per cause; publish markers and a goal for grounded answers."""
        if self.recorder is not None:
            self.recorder.log_reply(str(question), reply, self.get_clock().now().nanoseconds)
        if not reply.success:
            if reply.reason not in self._logged_reasons:
                self._logged_reasons.add(reply.reason)
                self.get_logger().warning(f"request rejected ({reply.error}); further '{reply.reason}' "
                                          f"rejections are only counted in ~/status")
            return
        self.get_logger().debug(f"answered in {reply.latency_ms:.0f} ms with {reply.scene_tokens} scene tokens"
                                + (f", asked as {reply.read_as!r}" if reply.read_as else ""))
        self._latencies.add(time.monotonic(), reply.latency_ms * 1e-3)
        self._grounding_pub.publish(self._markers(reply, str(question), situation_pose))
        if reply.grounding_xyz:
            origin = situation_pose[:3, 3] if situation_pose is not None else self._camera_xyz
            (x, y, z), (qx, qy, qz, qw) = goal_pose(np.asarray(reply.grounding_xyz[0], dtype=np.float64), origin)
            goal = PoseStamped()
            goal.header.frame_id = self.config.frame_id
            goal.header.stamp = self.get_clock().now().to_msg()
            goal.pose.position.x, goal.pose.position.y, goal.pose.position.z = x, y, z
            o = goal.pose.orientation
            o.x, o.y, o.z, o.w = qx, qy, qz, qw
            self._goal_pub.publish(goal)
            if self._nav_goal_pub is not None:
                self._nav_goal_pub.publish(goal)

    def _markers(self, reply: Reply, question: str, situation_pose: Optional[np.ndarray] = None) -> MarkerArray:
        """DELETEALL, then one flat square per grounded cell (its size, at its mean height), a sphere on the
        primary one and the answer text above it; an arrow on the floor where the asker stands and faces, for a
        situation given as a pose or placed from its text (``Reply.situation_placed``)."""
        stamp = self.get_clock().now().to_msg()
        frame = self.config.frame_id
        clear = Marker(action=Marker.DELETEALL)
        clear.header.frame_id = frame
        markers: list[Marker] = [clear]
        s = self.config.marker_scale
        magenta = ColorRGBA(r=1.0, g=0.0, b=1.0, a=0.6)
        for i, (xyz, size) in enumerate(zip(reply.grounding_xyz, reply.grounding_size)):
            cell = Marker(ns="grounded_cells", id=i, type=Marker.CUBE, action=Marker.ADD, color=magenta)
            cell.pose.position = Point(x=float(xyz[0]), y=float(xyz[1]), z=float(xyz[2]))
            cell.pose.orientation.w = 1.0
            cell.scale.x = cell.scale.y = float(size)
            cell.scale.z = 0.05
            markers.append(cell)
        if reply.grounding_xyz:
            first = reply.grounding_xyz[0]
            primary = Marker(ns="primary", id=0, type=Marker.SPHERE_LIST, action=Marker.ADD,
                             color=ColorRGBA(r=1.0, g=0.0, b=1.0, a=0.9))
            primary.pose.orientation.w = 1.0
            primary.scale.x = primary.scale.y = primary.scale.z = s
            primary.points = [Point(x=float(first[0]), y=float(first[1]), z=float(first[2]))]
            text = Marker(ns="answer", id=0, type=Marker.TEXT_VIEW_FACING, action=Marker.ADD,
                          text=self._spoken(reply, question),
                          color=ColorRGBA(r=1.0, g=1.0, b=1.0, a=1.0))
            text.pose.position = Point(x=float(first[0]), y=float(first[1]), z=float(first[2]) + 2 * s)
            text.pose.orientation.w = 1.0
            text.scale.z = s
            markers += [primary, text]
        placed = reply.situation_placed
        if situation_pose is not None or placed is not None:
            from leovl_ros.model.prompt import planar_pose  # loaded with the model already

            x, y, yaw = placed if placed is not None else planar_pose(situation_pose)
            arrow = Marker(ns="situation", id=0, type=Marker.ARROW, action=Marker.ADD,
                           color=ColorRGBA(r=0.1, g=0.8, b=1.0, a=0.9))
            set_planar_pose(arrow.pose, x, y, yaw, z=0.05)
            arrow.scale.x, arrow.scale.y, arrow.scale.z = 3 * s, 0.4 * s, 0.4 * s
            markers.append(arrow)
        for m in markers[1:]:
            m.header.frame_id, m.header.stamp = frame, stamp
        return MarkerArray(markers=markers)

    def _publish_status(self) -> None:
        """~/status: the node's diagnostic status (the one /diagnostics carries)."""
        self._status_pub.publish(diagnostic_array([self.diagnostic_status()], self.get_clock().now().nanoseconds))

    def diagnostic_report(self, active: bool) -> tuple[Optional[Health], list[tuple[str, str]]]:
        """Counters (answered, rejected by reason), latency over the window, model and map; the health verdict
        while active."""
        now = time.monotonic()
        self._latencies.trim(now)
        latencies = self._latencies.values()
        handle, c = self.map, self.config
        voxels = len(handle) if handle is not None else 0
        map_age: Optional[float] = None
        if handle is not None:
            version = handle.version
            if version != self._map_seen[0]:
                self._map_seen = (version, now)
            map_age = now - self._map_seen[1]
        live = self._map_source is not None
        health = (dialogue_health(latencies, voxels, map_age if live else None, self.diagnostics_config)
                  if active else None)
        counters = self.answerer.counters() if self.answerer is not None else {}
        values = [(k, str(v)) for k, v in sorted(counters.items())]
        values += [("answers_in_window", str(len(latencies))),
                   ("mean_latency_s", f"{sum(latencies) / len(latencies):.3f}" if latencies else "n/a"),
                   ("max_latency_s", f"{max(latencies):.3f}" if latencies else "n/a"),
                   ("model", (c.model_path or "models/default") if c else "not loaded"),
                   ("cfg_encoder_backend", self.cfg_encoder_backend or "not loaded"),
                   ("map_voxels", str(voxels)),
                   ("map", "live (shared with the fusion node)" if live else (c.map_file or "empty") if c else "none"),
                   ("map_age_s", f"{map_age:.1f}" if map_age is not None else "n/a")]
        return health, values


def main(args: Optional[list[str]] = None) -> int:
    """``dialogue_node`` executable: the node alone, over ``map_file`` (or an empty map)."""
    from leovl_ros.ros.node_main import main_or_help

    return main_or_help("dialogue_node", __doc__, [DialogueConfig, DialogueDiagnosticsConfig], [DialogueNode],
                        args=args, num_threads=4)


if __name__ == "__main__":
    raise SystemExit(main())
