"""Fusion node: synced RGB-D + camera_info + camera pose → 2D encoder → voxel store → CFG cloud/markers/status.

Input path (sensor callback group, cheap work only): approximate-time sync of colour, depth and pose (bounded
queues, ``sync_slop``; the pose stream uses ``max_pose_age`` as its tolerance), the latest camera_info, stamp
order and age checks against the node clock (sim time during bag replay); the pose comes from
``ros.pose_input.PoseInput`` (``pose_source``: PoseStamped, Odometry, or TF at the image stamp — a frame waits
up to ``tf_timeout`` for its transform, counted ``tf_timeout`` / ``tf_extrapolation`` when it never comes). Images
are subscribed serialised (``raw=True``): the sync reads their stamps in place (``leovl_ros.io.cdr``), the stamp
gaps of the colour stream give ``lost_inferred`` (``agent.frame_accounting``), and only frames handed to the worker
are ever parsed.
Accepted frames go to a worker thread through a short drop-oldest queue (``mode: live``, ``live_queue_size``: a
burst is absorbed, beyond it the oldest unprocessed frame is evicted, counted ``behind``) or a bounded blocking
queue (``mode: eval``: every frame fused, reliable QoS, back-pressure). The 2D encoder runs on the runtime the
``backend`` parameters select (``runtime.deploy``: TensorRT / ONNX Runtime / PyTorch). The worker hands the
messages to ``cfg.pipeline.FrameFuser`` (decode, per-pixel depth mask, resize to the encoder input, fuse into the
shared map, ``MapHandle``), so the executor never waits on the encoder. Every rejected frame is counted by
reason in ``~/status`` and logged once per cause (throttled); rejected frames never touch the map.

A managed (lifecycle) node (``leovl_ros.ros.lifecycle``): configure validates the parameters, loads and deploys
the 2D encoder, makes (or keeps) the map and the publishers and starts the worker; activate subscribes the
inputs and starts the output timers and the map services; deactivate removes them again (nothing is received,
fused or served while inactive) and keeps the map; cleanup releases the encoder, worker and publishers (the map
stays until shutdown). ``/diagnostics`` (``agent.diagnostics``) reports fused vs nominal rate, drops by reason,
input staleness, the encoder and the map size, with levels at the ``diagnostics.*`` thresholds.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import numpy as np
from rcl_interfaces.msg import SetParametersResult
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.clock import Clock, ClockType
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2
from std_srvs.srv import Trigger
from visualization_msgs.msg import MarkerArray

from leovl_interfaces.msg import FusionStatus
from leovl_interfaces.srv import MapFile
from leovl_ros.agent.diagnostics import (
    FrameCounts,
    FrameWindow,
    FusionDiagnosticsConfig,
    Health,
    TimedWindow,
    fusion_health,
)
from leovl_ros.agent.frame_accounting import StampGapCounter
from leovl_ros.agent.frame_sync import ApproxTimeSync, BlockingQueue, LatestQueue
from leovl_ros.agent.map_handle import MapBusyError, MapHandle, new_map_handle
from leovl_ros.agent.node_config import FRAME_REASONS, FusionConfig
from leovl_ros.agent.validation import (
    InputRejected,
    Reason,
    Rejection,
    check_frame_age,
    check_stamp_order,
)
from leovl_ros.io import cdr
from leovl_ros.ros import conversions as conv
from leovl_ros.ros.lifecycle import ManagedNode
from leovl_ros.ros.node_main import RejectionLog, main_or_help
from leovl_ros.ros.params import read_config, validate_update
from leovl_ros.ros.pose_input import PoseInput
from leovl_ros.ros.qos import eval_qos, latched_qos, lost_message_callbacks, qos_by_name, reliable_qos

if TYPE_CHECKING:
    pass

@dataclass
class PendingFrame:
    """A synced, pose-checked frame waiting for the worker (messages still encoded)."""

    stamp_ns: int
    colour: Any
    depth: Any
    info: CameraInfo
    pose: np.ndarray


class FusionNode(ManagedNode):
    """RGB-D + pose → shared voxel map; publishes the CFG and status; reset/save/load services (lifecycle)."""

    DIAGNOSTICS_CONFIG = FusionDiagnosticsConfig
    DIAGNOSTICS_TASK = "frame fusion"

    def __init__(self, map_handle: Optional[MapHandle] = None, encoder: Any = None, recorder: Any = None,
                 **kwargs: Any) -> None:
        """Declare the parameters; the node starts unconfigured (``autostart`` lets its executable bring it up).
        ``encoder`` replaces the configured 2D encoder, ``map_handle`` is the map to fuse into (else one is made
        at the first configure and kept until shutdown), ``recorder`` (``agent.recording.Recorder``) also logs
        each fused frame and each published CFG."""
        super().__init__(kwargs.pop("node_name", "fusion"), **kwargs)
        self.recorder = recorder
        self.declare_config_parameters(FusionConfig)
        self.config: Optional[FusionConfig] = None
        self._given_encoder = encoder
        self.encoder: Any = None
        self.encoder_backend = self.encoder_backend_detail = ""
        self.map_handle: Optional[MapHandle] = map_handle
        self._fuser: Any = None
        self._poses: Optional[PoseInput] = None
        self._sync: Optional[ApproxTimeSync] = None
        self._rejections = RejectionLog(self.get_logger(), [r.value for r in FRAME_REASONS],
                                        float(self.get_parameter("log_throttle").value))
        self._state_lock = threading.Lock()
        self._received = 0
        self._fused = 0
        self._latency_sum = 0.0
        self._latency_n = 0
        self._last_stamp_ns: Optional[int] = None
        self._gaps = StampGapCounter()
        self._info: Optional[CameraInfo] = None
        self._tokens = 0
        self._published_version = -1
        self._published_at = 0.0
        self._published: Optional[tuple[PointCloud2, MarkerArray]] = None
        self._rate_window = (time.monotonic(), 0)
        self._rate_hz = 0.0
        self._inbox: Any = None
        self._worker: Optional[threading.Thread] = None
        self._stop = threading.Event()
        self._accepting = False  # frames reach the map only while active
        self._fusing = threading.Lock()  # held while the worker fuses a frame: deactivate waits for it
        self._activated_at = time.monotonic()
        self._last_input_at: Optional[float] = None
        self._last_fused_at: Optional[float] = None
        self._warmed_at: Optional[float] = None  # when the worker finished warming the fusion path up
        self._frame_window: TimedWindow[FrameCounts] = TimedWindow(self.diagnostics_config.window_s)
        self.add_on_set_parameters_callback(self._on_set_parameters)

    # ------------------------------------------------------------------------------------------ lifecycle

    def configure_node(self) -> None:
        """Validate the parameters, load and deploy the 2D encoder, keep or make the map, make the publishers and
        start the fusion worker (it warms the fusion path up)."""
        self.config = c = read_config(self, FusionConfig)
        encoder = self._given_encoder
        if encoder is None:
            from leovl_ros.cfg.pipeline import load_encoder

            encoder = load_encoder(c.encoder_kind, c.encoder_path, self.get_logger().warning)
        self.encoder = self._deploy(encoder)
        self.map_handle = self._map_for(int(self.encoder.feature_dim))
        from leovl_ros.cfg.pipeline import FrameFuser

        self._fuser = FrameFuser(self.encoder, c.fuser_config())
        self._make_publishers()
        self._frame_window = TimedWindow(self.diagnostics_config.window_s)
        self._inbox = BlockingQueue(c.eval_queue_size) if c.mode == "eval" else LatestQueue(c.live_queue_size)
        self._stop = threading.Event()
        self._warmed_at = None
        self._worker = threading.Thread(target=self._work, args=(self._stop, self._inbox), name="fusion_worker",
                                        daemon=True)
        self._worker.start()
        self.get_logger().info(
            f"fusion configured: encoder={type(self.encoder.source).__name__}(D={self.encoder.feature_dim}, "
            f"{self.encoder_backend}) input={c.encoder_width}x{c.encoder_height} voxel={c.voxel_size} m "
            f"budget={c.token_budget}, map of {len(self.map_handle)} voxels")

    def _map_for(self, feature_dim: int) -> MapHandle:
        """The map to fuse into: the given or kept one when it fits the encoder and voxel size, else a new one."""
        c = self.config
        assert c is not None
        if self.map_handle is None:
            return new_map_handle(feature_dim, c.voxel_size, c.capacity, c.compiled_fusion)
        with self.map_handle.locked() as store:
            kept = getattr(store, "config", None)
        if kept is not None and (kept.feature_dim != feature_dim or abs(kept.voxel_size - c.voxel_size) > 1e-9):
            raise ValueError(f"the map kept since the last configuration holds {kept.feature_dim}-d features in "
                             f"{kept.voxel_size} m voxels, this configuration needs {feature_dim}-d in "
                             f"{c.voxel_size} m voxels (shut the node down to start a new map)")
        return self.map_handle

    def activate_node(self) -> None:
        """Subscribe the inputs, start the output timers and the map services: frames flow into the map."""
        c = self.config
        assert c is not None
        self._make_endpoints()
        self._gaps.reset()  # the pause while inactive is no loss
        self._frame_window.clear()
        now = time.monotonic()
        self._activated_at, self._last_input_at = now, None
        self._rate_window = (now, self._fused)
        self._accepting = True
        self.get_logger().info(
            f"fusion ready: mode={c.mode} qos={'reliable/keep-all' if c.mode == 'eval' else c.qos} "
            f"pose_source={c.pose_source} colour={self._colour_sub.topic_name} depth={self._depth_sub.topic_name} "
            f"encoder={type(self.encoder.source).__name__}(D={self.encoder.feature_dim}, {self.encoder_backend}) "
            f"input={c.encoder_width}x{c.encoder_height} voxel={c.voxel_size} m budget={c.token_budget}")

    def deactivate_node(self) -> None:
        """Input is gone: discard the frames still queued, let the one being fused land; the map stays."""
        self._accepting = False
        discarded = 0
        while self._inbox is not None and self._inbox.get(timeout=0.0) is not None:
            discarded += 1
        with self._fusing:
            pass
        voxels = len(self.map_handle) if self.map_handle is not None else 0
        self.get_logger().info(f"fusion inactive: input stopped ({discarded} queued frame(s) discarded), the map "
                               f"keeps its {voxels} voxels")

    def cleanup_node(self) -> None:
        """Stop the worker and release the encoder (the publishers go with the configuration; the map stays)."""
        self._accepting = False
        self._stop.set()
        if self._inbox is not None:
            self._inbox.close()
        if self._worker is not None:
            self._worker.join(timeout=5.0)
        self._worker = self._inbox = None
        self._record_final_map()
        self._fuser = self.encoder = self._poses = None
        self.encoder_backend = self.encoder_backend_detail = ""
        self._published_version, self._published = -1, None
        self.config = None

    def _record_final_map(self) -> None:
        """Log the map as it is now to the recording, unless ``~/cfg`` already sent this version: a short replay can
        end before the publish timer finds the map idle."""
        if self.recorder is None or self.map_handle is None or self.config is None:
            return
        from leovl_ros.cfg.condense import condense

        try:
            with self.map_handle.locked() as store:
                if len(store) == 0 or int(store.version) == self._published_version:
                    return
                batch = condense(store, self.config.condense_config())
                newest = store.newest_stamp()
            self.recorder.log_cfg(batch, round(newest * 1e9) if newest is not None else None)
        except Exception as exc:  # the process is ending: report, never raise
            self.get_logger().error(f"cannot record the final map: {type(exc).__name__}: {exc}")

    def shutdown_node(self) -> None:
        """Release the map too."""
        self.map_handle = None

    def diagnostic_report(self, active: bool) -> tuple[Optional[Health], list[tuple[str, str]]]:
        """Frames over the diagnostics window (sampled at each report while active), drops by reason, encoder and
        map; the health verdict while active."""
        now = time.monotonic()
        with self._state_lock:
            received, fused = self._received, self._fused
            last_input, last_fused = self._last_input_at, self._last_fused_at
        drops = self._rejections.counters.snapshot()
        dropped = int(sum(drops.values()))
        if active:
            self._frame_window.add(now, FrameCounts(received, fused, dropped))
        frames = FrameWindow.of(self._frame_window)
        input_age = None if last_input is None else now - last_input
        health = None
        warmed_at = self._warmed_at
        if active:
            since_fused = now - max(last_fused or 0.0, self._activated_at, warmed_at or 0.0)
            health = fusion_health(frames, self._gaps.rate_hz, input_age, since_fused, self.diagnostics_config,
                                   warming_up=warmed_at is None)
        c, handle = self.config, self.map_handle
        voxels = "busy" if handle is not None and handle.busy else str(len(handle) if handle is not None else 0)
        values = [("fused_rate_hz", f"{frames.fused_rate_hz:.2f}"), ("nominal_rate_hz", f"{self._gaps.rate_hz:.2f}"),
                  ("window_s", f"{frames.elapsed_s:.1f}"), ("window_drop_share", f"{frames.drop_share:.3f}"),
                  ("frames_received", str(received)), ("frames_fused", str(fused)), ("frames_dropped", str(dropped)),
                  *((f"dropped.{reason}", str(n)) for reason, n in drops.items()),
                  ("lost_inferred", str(self._gaps.lost)),
                  ("seconds_since_input", "never" if input_age is None else f"{input_age:.1f}"),
                  ("seconds_since_fused", "never" if last_fused is None else f"{now - last_fused:.1f}"),
                  ("fusion_path", "not started" if self._worker is None else
                   "warming up" if warmed_at is None else "ready"),
                  ("encoder_backend", self.encoder_backend_detail or "not loaded"),
                  ("encoder_model", f"{c.encoder_kind} {c.encoder_path or 'models/default'}" if c else "not loaded"),
                  ("map_voxels", voxels), ("cfg_cells", str(self._tokens)),
                  ("last_error", self._rejections.last_error)]
        return health, values

    # ------------------------------------------------------------------------------------------ set-up

    def _deploy(self, encoder: Any) -> Any:
        """The 2D encoder on the runtime the ``backend`` parameters select (logged with the skipped ones' reasons).

        A strict backend that does not work here is a start error (``RuntimeError``: exit code 2)."""
        import torch

        from leovl_ros.runtime.backends import BackendUnavailable
        from leovl_ros.runtime.deploy import DeployedImageEncoder

        c = self.config
        try:  # ONNX Runtime gets as many intra-op threads as torch has in this process (bring-up sets them)
            deployed = DeployedImageEncoder(encoder, (c.encoder_height, c.encoder_width), c.deploy_config(),
                                            threads=max(1, torch.get_num_threads()))
        except BackendUnavailable as exc:
            raise RuntimeError(f"2D encoder backend {c.backend!r} unusable: {exc}") from exc
        self.encoder_backend, self.encoder_backend_detail = deployed.name, deployed.description
        self.get_logger().info(f"2D encoder runtime: {deployed.description}")
        return deployed

    def _make_publishers(self) -> None:
        """The outputs (lifecycle publishers: they send only while the node is active)."""
        self._cloud_pub = self.create_lifecycle_publisher(PointCloud2, "~/cfg", latched_qos())
        self._marker_pub = self.create_lifecycle_publisher(MarkerArray, "~/cfg_markers", latched_qos())
        self._status_pub = self.create_lifecycle_publisher(FusionStatus, "~/status", reliable_qos(10))

    def _make_endpoints(self) -> None:
        """At activate: subscriptions (sensor group), output timers (output group), map services (reentrant
        group); deactivate destroys all of them (``ManagedNode`` records what is made here)."""
        c = self.config
        assert c is not None
        sensors = MutuallyExclusiveCallbackGroup()
        outputs = MutuallyExclusiveCallbackGroup()
        services = ReentrantCallbackGroup()
        qos = eval_qos() if c.mode == "eval" else qos_by_name(c.qos, depth=max(c.sync_queue_size, 5))
        streams = 3 if c.pose_source != "tf" else 2
        self._sync = ApproxTimeSync(streams, c.sync_slop, c.sync_queue_size, self._on_synced, self._on_unsynced,
                                    slops_s=[c.sync_slop, c.max_pose_age][: streams - 1])
        image_type = CompressedImage if c.compressed_inputs else Image
        colour_topic = c.colour_topic + ("/compressed" if c.compressed_inputs else "")
        depth_topic = c.depth_topic + ("/compressedDepth" if c.compressed_inputs else "")
        # Images arrive serialised (raw=True): the sync reads stamps in place (leovl_ros.io.cdr) and only frames
        # handed to the worker are parsed there — a dropped frame never costs a deserialisation.
        self._colour_sub = self.create_subscription(image_type, colour_topic, self._on_colour, qos,
                                                    callback_group=sensors, raw=True,
                                                    event_callbacks=lost_message_callbacks(self._on_lost))
        self._depth_sub = self.create_subscription(image_type, depth_topic, self._on_depth, qos,
                                                   callback_group=sensors, raw=True)
        info_qos = eval_qos() if c.mode == "eval" else qos_by_name(c.qos, depth=5)
        self.create_subscription(CameraInfo, c.camera_info_topic, self._on_info, info_qos, callback_group=sensors)
        self._poses = PoseInput(self, c, sensors, qos, lambda stamp, entry: self._sync.add(2, stamp, entry))
        # Output timers run on the steady clock: status and the map keep flowing while a sim-time replay pauses.
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        self.create_timer(1.0 / c.status_rate, self._publish_status, callback_group=outputs, clock=steady)
        self.create_timer(1.0 / c.publish_rate, self._publish_cfg, callback_group=outputs, clock=steady)
        self.create_service(Trigger, "~/reset", self._on_reset, callback_group=services)
        self.create_service(MapFile, "~/save_map", self._on_save, callback_group=services)
        self.create_service(MapFile, "~/load_map", self._on_load, callback_group=services)

    def _on_set_parameters(self, params: list) -> Any:
        """Runtime updates of the tunable (non-read-only) parameters, validated like the configured config (an
        unconfigured node checks them at configure)."""
        if self.config is None:
            return SetParametersResult(successful=True)
        result, new = validate_update(self.config, params)
        if result.successful:
            self.config = new
            if self._fuser is not None:
                self._fuser.config = new.fuser_config()
            if self._sync is not None:
                self._sync.set_slops([new.sync_slop, new.max_pose_age][: len(self._sync.slops_ns)])
        return result

    # ------------------------------------------------------------------------------------ input path

    def _reject(self, rejection: Rejection) -> None:
        """Count and (throttled) log a rejected frame."""
        self._rejections.reject(rejection)

    def _on_colour(self, raw: bytes) -> None:
        """Colour image (serialised): the sync's pivot stream; frames_received counts these and the gaps in their
        stamps give ``lost_inferred``."""
        with self._state_lock:
            self._received += 1
            self._last_input_at = time.monotonic()
        try:
            stamp = cdr.header_stamp_ns(raw)
        except ValueError as exc:
            self._reject(Rejection(Reason.ENCODING, f"unreadable colour message: {exc}"))
            return
        self._gaps.add(stamp)
        self._sync.add(0, stamp, raw)

    def _on_lost(self, n: int) -> None:
        """The middleware lost ``n`` colour messages (frames) before they reached this node."""
        for _ in range(n):
            self._reject(Rejection(Reason.LOST, f"the middleware reported {n} colour message(s) lost "
                                                f"(transport overload; QoS {self.config.qos})"))

    def _on_depth(self, raw: bytes) -> None:
        """Depth image (serialised): sync stream 1 (an unreadable one leaves its colour frame unsynced)."""
        try:
            self._sync.add(1, cdr.header_stamp_ns(raw), raw)
        except ValueError as exc:
            self.get_logger().warning(f"unreadable depth message: {exc}",
                                      throttle_duration_sec=self.config.log_throttle)

    def _on_info(self, msg: CameraInfo) -> None:
        """Keep the latest CameraInfo (validated against each frame in the worker)."""
        self._info = msg

    def _on_unsynced(self, stamp_ns: int, msg: Any, missing: list[int]) -> None:
        """A colour frame found no partner: depth missing → unsynced; pose missing → pose_missing/pose_stale."""
        t = stamp_ns * 1e-9
        if 1 in missing:
            self._reject(Rejection(Reason.UNSYNCED, f"no depth within {self.config.sync_slop} s of colour at "
                                                    f"{t:.3f} s (check stamps / raise sync_slop)"))
        elif self._sync.seen(2):
            self._reject(Rejection(Reason.POSE_STALE, f"no pose within max_pose_age {self.config.max_pose_age} s "
                                                       f"of the frame at {t:.3f} s"))
        else:
            topic = self.config.pose_topic if self.config.pose_source == "topic" else self.config.odometry_topic
            self._reject(Rejection(Reason.POSE_MISSING, f"no pose received on {topic!r} "
                                                         f"(pose_source {self.config.pose_source})"))

    def _on_synced(self, stamp_ns: int, msgs: list[Any]) -> None:
        """Cheap checks on a synced frame (order, age, camera_info, pose), then hand it to the worker."""
        colour, depth = msgs[0], msgs[1]
        now_ns = self.get_clock().now().nanoseconds
        rejection = (check_frame_age(stamp_ns, now_ns, self.config.max_frame_age)
                     or check_stamp_order(stamp_ns, self._last_stamp_ns))
        if rejection is None and self._info is None:
            rejection = Rejection(Reason.CAMERA_INFO, f"no camera_info received on {self.config.camera_info_topic!r}")
        if rejection is not None:
            self._reject(rejection)
            return
        info = self._info
        self._poses.resolve(stamp_ns, colour, msgs[2] if len(msgs) > 2 else None,
                            lambda pose, why: self._hand_over(PendingFrame(stamp_ns, colour, depth, info, pose), why))

    def _hand_over(self, frame: PendingFrame, rejection: Optional[Rejection]) -> None:
        """A synced frame with its pose (``PoseInput.resolve``: at once, or once TF had it) → the worker."""
        if rejection is not None:
            self._reject(rejection)
            return
        self._last_stamp_ns = frame.stamp_ns
        if isinstance(self._inbox, LatestQueue):
            replaced = self._inbox.put(frame)
            if replaced is not None:
                self._reject(Rejection(Reason.BEHIND, "fusion slower than the input: the oldest unprocessed frame "
                                                      f"at {replaced.stamp_ns * 1e-9:.3f} s was evicted by a newer "
                                                      "one"))
        else:
            self._inbox.put(frame)

    # ---------------------------------------------------------------------------------------- worker

    def _parsed(self, raw: bytes) -> Any:
        """A serialised image → an Image's fields as a view of the buffer (``leovl_ros.io.cdr``), or a
        CompressedImage; malformed bytes are an ``encoding`` rejection."""
        try:
            if self.config.compressed_inputs:
                from rclpy.serialization import deserialize_message

                return deserialize_message(raw, CompressedImage)
            return cdr.image_fields(raw)
        except Exception as exc:  # foreign bytes: a bad input, never a crash
            raise InputRejected(Rejection(Reason.ENCODING, f"malformed serialised image: {exc}")) from exc

    def _work(self, stop: threading.Event, inbox: Any) -> None:
        """Worker thread: warm the fusion path up, then fuse the frames from ``inbox`` (only while active) until
        ``stop`` (cleanup)."""
        from leovl_ros.cfg import compiled

        try:
            with self.map_handle.locked() as store:
                store_config = store.config
            seconds = self._fuser.warm_up(store_config)
            use_compiled = compiled.enabled(store_config.device, self.config.compiled_fusion)
            path = "compiled CPU loops" if use_compiled else "torch ops"
            if compiled.UNAVAILABLE_REASON:
                path += f"; {compiled.UNAVAILABLE_REASON}"
            self.get_logger().info(f"fusion path warmed up in {seconds:.1f} s ({path})")
        except Exception as exc:  # a failed warm-up only means a slow first frame
            self.get_logger().warning(f"fusion warm-up failed ({type(exc).__name__}: {exc}); the first frame "
                                      f"will be slower")
        self._warmed_at = time.monotonic()
        while not stop.is_set():
            item = inbox.get(timeout=0.2)
            if item is None:
                continue
            with self._fusing:
                if self._accepting:
                    self._fuse(item)

    def _fuse(self, f: PendingFrame) -> None:
        """Decode, validate and fuse one frame (``FrameFuser``); any failure is counted and the map left untouched."""
        try:
            frame = self._fuser.prepare(self._parsed(f.colour), self._parsed(f.depth), f.info, f.pose, f.stamp_ns)
            with self.map_handle.locked() as store:
                self._fuser.fuse(store, frame)
        except InputRejected as exc:
            self._reject(exc.rejection)
            return
        except Exception as exc:
            self._reject(Rejection(Reason.FUSION_ERROR, f"{type(exc).__name__}: {exc}"))
            return
        latency = (self.get_clock().now().nanoseconds - f.stamp_ns) * 1e-6
        self.get_logger().debug(f"fused frame {f.stamp_ns * 1e-9:.3f} s, {latency:.0f} ms after its stamp")
        with self._state_lock:
            self._fused += 1
            self._last_fused_at = time.monotonic()
            self._latency_sum += latency
            self._latency_n += 1
        if self.recorder is not None:
            self.recorder.log_frame(f.stamp_ns, frame.rgb, frame.depth, frame.K, frame.pose)

    # --------------------------------------------------------------------------------------- outputs

    def _publish_status(self) -> None:
        """~/status: counters, map size, tokens, fusion rate and mean stamp → fused latency since last status."""
        now = time.monotonic()
        with self._state_lock:
            received, fused = self._received, self._fused
            latency = self._latency_sum / self._latency_n if self._latency_n else 0.0
            self._latency_sum, self._latency_n = 0.0, 0
        t0, fused0 = self._rate_window
        if now - t0 >= 1.0:
            self._rate_hz = (fused - fused0) / (now - t0)
            self._rate_window = (now, fused)
        drops = self._rejections.counters.snapshot()
        msg = FusionStatus()
        msg.header = conv.make_header(self.config.map_frame, self.get_clock().now().nanoseconds)
        msg.frames_received, msg.frames_fused = received, fused
        msg.frames_dropped = int(sum(drops.values()))
        msg.drop_reasons, msg.drop_counts = list(drops.keys()), [int(v) for v in drops.values()]
        msg.voxels = len(self.map_handle)
        msg.tokens = int(self._tokens)
        msg.map_version = self.map_handle.version
        msg.fusion_rate_hz = float(self._rate_hz)
        msg.fuse_latency_ms = float(latency)
        msg.last_error = self._rejections.last_error
        msg.lost_inferred = int(self._gaps.lost)
        msg.nominal_rate_hz = float(self._gaps.rate_hz)
        msg.encoder_backend = self.encoder_backend
        msg.encoder_backend_detail = self.encoder_backend_detail
        self._status_pub.publish(msg)

    def _publish_cfg(self) -> None:
        """~/cfg and ~/cfg_markers when the map changed since the last publication; the last ones again every
        ``republish_period`` seconds."""
        from leovl_ros.cfg.condense import condense

        if self.map_handle.busy:
            return
        try:
            with self.map_handle.locked() as store:
                version = int(store.version)
                if version == self._published_version:
                    if self._published is not None and \
                            time.monotonic() - self._published_at >= self.config.republish_period:
                        self._published_at = time.monotonic()
                        self._cloud_pub.publish(self._published[0])
                        self._marker_pub.publish(self._published[1])
                    return
                batch = condense(store, self.config.condense_config())
            header = conv.make_header(self.config.map_frame, self.get_clock().now().nanoseconds)
            cloud, markers = conv.cfg_to_cloud(batch, header), conv.cfg_to_markers(batch, header)
        except Exception as exc:
            self.get_logger().error(f"cannot publish the CFG: {type(exc).__name__}: {exc}",
                                    throttle_duration_sec=self.config.log_throttle)
            return
        self._published_version, self._published_at, self._published = version, time.monotonic(), (cloud, markers)
        self._tokens = len(batch)
        self._cloud_pub.publish(cloud)
        self._marker_pub.publish(markers)
        if self.recorder is not None:
            self.recorder.log_cfg(batch, header.stamp.sec * 1_000_000_000 + header.stamp.nanosec)

    # -------------------------------------------------------------------------------------- services

    def _on_reset(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        """Empty the map and forget stamps (a looped replay can start again)."""
        try:
            self.map_handle.reset()
        except MapBusyError as exc:
            response.success, response.message = False, str(exc)
            return response
        self._sync.reset()
        self._poses.reset()
        self._last_stamp_ns = None
        response.success, response.message = True, "map reset"
        self.get_logger().info("map reset")
        return response

    def _on_save(self, request: MapFile.Request, response: MapFile.Response) -> MapFile.Response:
        """Atomic save of the map to ``request.path``."""
        return self._file_op("save", request.path, response)

    def _on_load(self, request: MapFile.Request, response: MapFile.Response) -> MapFile.Response:
        """Replace the map with ``request.path``; a bad file keeps the current map."""
        return self._file_op("load", request.path, response)

    def _file_op(self, op: str, path: str, response: MapFile.Response) -> MapFile.Response:
        """Shared body of save/load: busy and bad-file errors become ``success=False`` with a message."""
        if not path.strip():
            response.success, response.message = False, f"{op}_map needs a path"
            return response
        try:
            target: Path = getattr(self.map_handle, op)(path)
        except MapBusyError as exc:
            response.success, response.message = False, f"{Reason.BUSY.value}: {exc}"
        except (ValueError, OSError) as exc:
            response.success, response.message = False, f"{op} failed, map unchanged: {exc}"
        else:
            response.success = True
            done = "saved" if op == "save" else "loaded"
            response.message = f"{done} {len(self.map_handle)} voxels {'to' if op == 'save' else 'from'} {target}"
            if op == "load":
                self._last_stamp_ns = None
        if response.success:
            self.get_logger().info(response.message)
        else:
            self.get_logger().warning(response.message)
        return response


def main(args: Optional[list[str]] = None) -> int:
    """``fusion_node`` executable."""
    return main_or_help("fusion_node", __doc__, [FusionConfig, FusionDiagnosticsConfig], [FusionNode], args=args)


if __name__ == "__main__":
    raise SystemExit(main())
