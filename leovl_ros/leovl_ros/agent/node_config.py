"""The agent nodes' configurations, ROS-free: one dataclass per node, each field a ROS parameter of the same name.

``param(default, doc, read_only)`` attaches the parameter's description; ``leovl_ros.ros.params.declare_config``
declares and validates them on a node, and offline tools (``training/bag_eval.py``) read the same defaults and
checks without ROS. ``__post_init__`` raises ``ValueError`` on a bad value, so a bad YAML fails at start.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from leovl_ros.agent.answering import AnswererConfig
from leovl_ros.agent.validation import Reason
from leovl_ros.geometry.transforms import extrinsic_from_list

if TYPE_CHECKING:
    from leovl_ros.cfg.condense import CondenseConfig
    from leovl_ros.cfg.pipeline import FrameFuserConfig


def deploy_config_of(config: Any) -> Any:
    """A node config's encoder runtime choice (its Isaac ROS parameters) as ``runtime.deploy.DeployConfig``."""
    from leovl_ros.runtime.deploy import DeployConfig

    return DeployConfig(backend=config.backend, model_file_path=config.model_file_path,
                        engine_file_path=config.engine_file_path, force_engine_update=config.force_engine_update)


def param(default: Any, doc: str, read_only: bool = True) -> Any:
    """A config field with its parameter description; ``read_only=False`` allows runtime updates."""
    if isinstance(default, list):
        return dataclasses.field(default_factory=lambda: list(default), metadata={"doc": doc, "read_only": read_only})
    return dataclasses.field(default=default, metadata={"doc": doc, "read_only": read_only})


FRAME_REASONS = (Reason.UNSYNCED, Reason.BEHIND, Reason.OUT_OF_ORDER, Reason.FRAME_STALE, Reason.POSE_MISSING,
                 Reason.POSE_STALE, Reason.POSE_INVALID, Reason.TF_TIMEOUT, Reason.TF_EXTRAPOLATION,
                 Reason.CAMERA_INFO, Reason.ENCODING, Reason.SIZE, Reason.DEPTH_INVALID, Reason.FUSION_ERROR,
                 Reason.LOST)
"""Drop counters ``~/status`` always reports (in this order)."""
BASE_TO_OPTICAL = [0.0, 0.0, 0.0, -0.5, 0.5, -0.5, 0.5]
"""REP 103 body frame (x forward, z up) → optical frame (z forward, y down), no offset: x y z qx qy qz qw."""


@dataclass
class FusionConfig:
    """Parameters of the fusion node (each is a ROS parameter of the same name)."""

    colour_topic: str = param("camera/color/image_raw", "Colour image topic (…/compressed is appended when "
                                                        "compressed_inputs).")
    depth_topic: str = param("camera/aligned_depth_to_color/image_raw", "Depth topic aligned to colour, 16UC1 mm "
                                                                        "or 32FC1 m (…/compressedDepth appended "
                                                                        "when compressed_inputs).")
    camera_info_topic: str = param("camera/color/camera_info", "CameraInfo of the colour camera.")
    compressed_inputs: bool = param(False, "Subscribe CompressedImage colour (jpeg/png) and compressedDepth depth.")
    pose_source: str = param("topic", "Camera pose source: 'topic' (PoseStamped of the optical frame in "
                                      "map_frame), 'odometry' (Odometry + base_to_optical), 'tf' (map_frame ← the "
                                      "images' frame_id at each image stamp: tf2_ros where it imports, else /tf + "
                                      "/tf_static).")
    pose_topic: str = param("camera/pose", "PoseStamped topic (pose_source 'topic').")
    odometry_topic: str = param("odom", "Odometry topic (pose_source 'odometry').")
    base_to_optical: list = param(list(BASE_TO_OPTICAL), "Static base → camera optical extrinsic for odometry: "
                                                         "x y z qx qy qz qw or 16 row-major values; [] = look it "
                                                         "up in /tf_static (the Odometry's child_frame_id → the "
                                                         "images' frame_id).")
    map_frame: str = param("map", "World frame of poses and outputs (REP 103, z up).")
    odom_frame: str = param("odom", "Frame of Odometry messages that are not in map_frame (pose_source 'odometry').")
    map_to_odom: list = param([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0], "Static map → odom transform for Odometry in "
                                                                   "odom_frame: x y z qx qy qz qw or 16 row-major "
                                                                   "values (identity or []: odometry is the "
                                                                   "map).")
    tf_timeout: float = param(0.5, "Seconds a frame waits for its transform (pose_source 'tf', or the extrinsic "
                                   "from /tf_static) before it is dropped as tf_timeout; 0 = no wait. At most "
                                   "sync_queue_size frames wait.")
    qos: str = param("sensor", "Input QoS in live mode: 'sensor' (best effort) or 'reliable'.")
    mode: str = param("live", "'live' (latest frame, drops counted as behind) or 'eval' (every frame, reliable, "
                              "back-pressure).")
    sync_slop: float = param(0.02, "Max stamp difference (s) between colour and depth of one frame.", False)
    sync_queue_size: int = param(10, "Messages kept per input stream while waiting for a match.")
    eval_queue_size: int = param(8, "Frames waiting for fusion in eval mode before the input blocks.")
    live_queue_size: int = param(2, "Frames waiting for fusion in live mode; a newer frame then evicts the oldest "
                                    "(counted 'behind'). 2-3 absorb bursts at a few frames of latency.")
    min_depth: float = param(0.1, "Depth below this (m) is masked.", False)
    max_depth: float = param(8.0, "Depth beyond this (m) is masked.", False)
    max_invalid_fraction: float = param(0.9, "A frame with a larger share of invalid depth pixels is dropped.",
                                        False)
    max_pose_age: float = param(0.05, "Max |pose stamp − image stamp| (s); a farther pose is stale.", False)
    max_frame_age: float = param(2.0, "Frames older than this (s) by the node clock are dropped; 0 disables.",
                                 False)
    min_image_size: int = param(16, "Images smaller than this many pixels on either side are dropped "
                                    "(size_mismatch).", False)
    encoder_width: int = param(320, "Width the colour/depth images are resized to before the 2D encoder.")
    encoder_height: int = param(240, "Height the colour/depth images are resized to before the 2D encoder.")
    encoder_kind: str = param("small_cnn", "2D encoder: 'small_cnn' or 'hf' (transformers vision tower).")
    encoder_path: str = param("", "Encoder folder; empty = the shipped default model's (models/default/"
                                  "image_encoder).")
    backend: str = param("auto", "2D encoder runtime: 'auto' (TensorRT, ONNX Runtime CUDA, ONNX Runtime CPU, "
                                 "PyTorch: the first that works, the others' reasons logged) or one of "
                                 "tensorrt|onnxruntime-cuda|onnxruntime-cpu|pytorch (must work, else the node "
                                 "fails to start).")
    model_file_path: str = param("", "ONNX file of the 2D encoder; empty = $ROS_HOME/leovl_engines/"
                                     "image_encoder_<W>x<H>.onnx (~/.ros without ROS_HOME). Exported from the "
                                     "loaded weights when missing or stale.")
    engine_file_path: str = param("", "TensorRT engine of the 2D encoder; empty = next to the ONNX file "
                                      "(<stem>.fp16.engine). Built on a GPU when missing or stale.")
    force_engine_update: bool = param(False, "Rebuild the TensorRT engine at start even when it is current.")
    voxel_size: float = param(0.05, "Voxel edge of the map (m); must divide cell_size / 2.")
    capacity: int = param(1_000_000, "Max voxels kept (least-recently-seen evicted beyond).")
    compiled_fusion: bool = param(True, "On CPU, lift and fuse with the compiled loops (numba, warmed up at start); "
                                        "false runs the torch ops (what CUDA runs).")
    cell_size: float = param(0.3, "Base CFG column edge (m).")
    token_budget: int = param(750, "Max CFG tokens (columns) after condensation.")
    status_rate: float = param(2.0, "~/status publish rate (Hz).")
    publish_rate: float = param(1.0, "~/cfg and ~/cfg_markers publish rate (Hz, only when the map changed).")
    republish_period: float = param(10.0, "Seconds after which ~/cfg and ~/cfg_markers are sent again although the "
                                          "map did not change (they are transient-local too: a late Rviz gets the "
                                          "last map at once).")
    log_throttle: float = param(5.0, "Each rejection cause is logged at most once per this many seconds.", False)

    def __post_init__(self) -> None:
        if self.pose_source not in ("topic", "odometry", "tf"):
            raise ValueError(f"pose_source must be topic|odometry|tf, got {self.pose_source!r}")
        if self.qos not in ("sensor", "reliable"):
            raise ValueError(f"qos must be sensor|reliable, got {self.qos!r}")
        if self.mode not in ("live", "eval"):
            raise ValueError(f"mode must be live|eval, got {self.mode!r}")
        if self.encoder_kind not in ("small_cnn", "hf"):
            raise ValueError(f"encoder_kind must be small_cnn|hf, got {self.encoder_kind!r}")
        self.deploy_config()  # backend name check
        if not 0.0 <= self.min_depth < self.max_depth:
            raise ValueError(f"need 0 <= min_depth < max_depth, got {self.min_depth}, {self.max_depth}")
        if not 0.0 <= self.max_invalid_fraction <= 1.0:
            raise ValueError(f"max_invalid_fraction must be in [0, 1], got {self.max_invalid_fraction}")
        positive = {"sync_slop": self.sync_slop >= 0, "max_pose_age": self.max_pose_age >= 0,
                    "max_frame_age": self.max_frame_age >= 0, "sync_queue_size": self.sync_queue_size >= 1,
                    "tf_timeout": self.tf_timeout >= 0,
                    "eval_queue_size": self.eval_queue_size >= 1, "min_image_size": self.min_image_size >= 1,
                    "live_queue_size": self.live_queue_size >= 1,
                    "encoder_width": self.encoder_width >= 8,
                    "encoder_height": self.encoder_height >= 8, "voxel_size": self.voxel_size > 0,
                    "capacity": self.capacity >= 1, "cell_size": self.cell_size > 0,
                    "token_budget": self.token_budget >= 1, "status_rate": self.status_rate > 0,
                    "publish_rate": self.publish_rate > 0,
                    "republish_period": self.republish_period > 0, "log_throttle": self.log_throttle >= 0}
        bad = [k for k, ok in positive.items() if not ok]
        if bad:
            raise ValueError(f"out-of-range parameters: {', '.join(f'{k}={getattr(self, k)}' for k in bad)}")
        for extrinsic in (self.base_to_optical, self.map_to_odom):
            if extrinsic:  # [] = from /tf_static (base_to_optical) or identity (map_to_odom)
                extrinsic_from_list(extrinsic)
        from leovl_ros.cfg.condense import check_grid

        check_grid(self.voxel_size, self.condense_config())

    def fuser_config(self) -> FrameFuserConfig:
        """How the worker checks, resizes and fuses a frame."""
        from leovl_ros.cfg.pipeline import FrameFuserConfig

        return FrameFuserConfig(input_width=self.encoder_width, input_height=self.encoder_height,
                                min_depth=self.min_depth, max_depth=self.max_depth,
                                max_invalid_fraction=self.max_invalid_fraction, min_image_size=self.min_image_size,
                                compiled=self.compiled_fusion)

    def deploy_config(self) -> Any:
        """The 2D encoder's runtime choice (``leovl_ros.runtime.deploy.DeployConfig``)."""
        return deploy_config_of(self)

    def condense_config(self) -> CondenseConfig:
        """The CFG grid the node publishes (cell size and token budget from the parameters)."""
        from leovl_ros.cfg.condense import CondenseConfig

        return CondenseConfig(cell_size=self.cell_size, budget=self.token_budget)


@dataclass
class DialogueConfig:
    """The dialogue node's parameters (each declared with its description, validated at start)."""

    model_path: str = param("", "Checkpoint folder of the LEO-VL model; empty = the shipped default (models/default).")
    device: str = param("cpu", "Torch device the model runs on ('cpu', 'cuda', 'cuda:0').")
    max_sessions: int = param(64, "Dialogue sessions whose history is kept (least recently used forgotten; each "
                                  "keeps the model's max_history turns). Unknown session ids start a new one.")
    map_file: str = param("", "Saved map to answer over when run alone (unused when the fusion node shares its "
                              "map in-process).")
    frame_id: str = param("map", "World frame of goals and markers.")
    send_nav_goal: bool = param(False, "Also publish each answer's goal on nav_goal (remap it to Nav2's goal_pose: "
                                       "then answering a question moves the robot). Off: goals stay on ~/goal.")
    pose_topic: str = param("camera/pose", "Camera PoseStamped topic (the fusion node's pose_topic): goals face "
                                           "away from the latest camera position when no situation pose is given.")
    max_question_chars: int = param(1000, "Longer questions are rejected (question_too_long).", read_only=False)
    max_session_id_chars: int = param(64, "Longer session ids are rejected (session_invalid).", read_only=False)
    busy_timeout_s: float = param(2.0, "Wait this long for the model (one request at a time) before refusing a "
                                       "request as busy.", read_only=False)
    scene_refresh_s: float = param(1.0, "While the map changes, rebuild the scene prefix (condense + encode + "
                                         "KV prefill) at most this often (s); questions in between reuse the "
                                         "cached prefix. 0 = always the latest map.", read_only=False)
    check_scope: bool = param(True, "Reject questions in none of the model's words (question_unknown_words) or "
                                    "naming an object outside its classes, e.g. keys, a fridge, a cat "
                                    "(question_unknown_object); false = the model answers every question.",
                              read_only=False)
    object_words: bool = param(True, "Ask the model with the class name in place of words people use for a class "
                                     "that no training question uses ('where is the armchair?' is asked as 'where "
                                     "is the chair?'; agent/object_words.py).", read_only=False)
    correct_spelling: bool = param(True, "Ask the model with typing slips in the task's words put right ('how many "
                                         "chiars' is asked as 'how many chairs'; agent/spelling.py).",
                                   read_only=False)
    inline_situation: bool = param(True, "Ask a question typed after a clause that places the asker ('I'm on the "
                                         "bed. What is on my left?') in that situation, where the request gives "
                                         "none apart (agent/inline_situation.py).", read_only=False)
    situation_from_map: bool = param(True, "Ask a question whose situation comes as text alone ('I am sitting on "
                                           "the bed facing the tv') at the pose the text gives on the map "
                                           "(model/situation_pose.py).", read_only=False)
    robot_viewpoint: bool = param(True, "Answer a question with no situation that takes the robot as its viewpoint "
                                        "('is the bed on your left?', asked as 'on my left') or asks a route ('take "
                                        "me to the chair') at the robot's newest camera pose (agent/robot_view.py).",
                                  read_only=False)
    compound_questions: bool = param(True, "Answer two questions typed as one ('where is the bed and what colour "
                                           "is it?') one after the other in the same dialogue, the answers joined "
                                           "(agent/compound.py).", read_only=False)
    topic_session_id: str = param("topic", "Session id of questions arriving on ~/question.", read_only=False)
    marker_scale: float = param(0.25, "Diameter (m) of the grounding spheres.", read_only=False)
    status_period_s: float = param(1.0, "Period (s) of ~/status.")
    backend: str = param("auto", "CFG encoder runtime: 'auto' (TensorRT, ONNX Runtime CUDA, ONNX Runtime CPU, "
                                 "PyTorch: the first that works, the others' reasons logged) or one of "
                                 "tensorrt|onnxruntime-cuda|onnxruntime-cpu|pytorch (must work, else the node "
                                 "fails to start).")
    model_file_path: str = param("", "ONNX file of the CFG encoder; empty = $ROS_HOME/leovl_engines/"
                                     "cfg_encoder.onnx (~/.ros without ROS_HOME). Exported from the loaded "
                                     "model when missing or stale.")
    engine_file_path: str = param("", "TensorRT engine of the CFG encoder; empty = next to the ONNX file "
                                      "(<stem>.fp16.engine). Built on a GPU when missing or stale.")
    force_engine_update: bool = param(False, "Rebuild the TensorRT engine at start even when it is current.")

    def __post_init__(self) -> None:
        if not self.frame_id:
            raise ValueError("frame_id must not be empty")
        if self.max_sessions < 1:
            raise ValueError(f"max_sessions must be >= 1, got {self.max_sessions}")
        if self.marker_scale <= 0 or self.status_period_s <= 0:
            raise ValueError("marker_scale and status_period_s must be > 0")
        self.answerer_config()  # its own range checks
        self.deploy_config()  # backend name check

    def deploy_config(self) -> Any:
        """The CFG encoder's runtime choice (``leovl_ros.runtime.deploy.DeployConfig``)."""
        return deploy_config_of(self)

    def answerer_config(self) -> AnswererConfig:
        """The limits of the shared answer path."""
        return AnswererConfig(max_question_chars=self.max_question_chars,
                              max_session_id_chars=self.max_session_id_chars, busy_timeout_s=self.busy_timeout_s,
                              scene_refresh_s=self.scene_refresh_s, check_scope=self.check_scope,
                              object_words=self.object_words, correct_spelling=self.correct_spelling,
                              inline_situation=self.inline_situation, robot_viewpoint=self.robot_viewpoint,
                              situation_from_map=self.situation_from_map,
                              compound_questions=self.compound_questions)
