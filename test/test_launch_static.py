"""The launch file and agent.yaml checked without ``launch_ros`` (not on PyPI), plus a real load where it imports.

Static: the executables the launch file starts exist in setup.py's entry points, its topic arguments remap
topics the nodes really use, and its files exist. In-process: every key of ``config/agent.yaml`` is a parameter
the node of that name declares, with the YAML's value and type accepted (rclpy with ``--params-file``). Stubbed:
the launch file run against stand-ins of ``launch``/``launch_ros``: its arguments (camera preset, namespace,
pose_source, use_sim_time, topics) reach the agent's remappings and parameters, and no RMW is forced.
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest
import rclpy
import yaml
from rclpy.context import Context

from leovl_ros.agent.paths import REPO_ROOT

PKG = REPO_ROOT / "leovl_ros"
LAUNCH = PKG / "launch" / "agent.launch.py"
YAML = PKG / "config" / "agent.yaml"


def console_scripts() -> set[str]:
    """Names of setup.py's console_scripts entry points (parsed, not executed)."""
    tree = ast.parse((PKG / "setup.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if isinstance(key, ast.Constant) and key.value == "console_scripts":
                    return {ast.literal_eval(e).split("=")[0].strip() for e in value.elts}  # type: ignore[attr-defined]
    raise AssertionError("no console_scripts in setup.py")


def launch_nodes() -> list[dict[str, object]]:
    """Keyword constants of every ``Node(...)`` call in the launch file (module-level string names resolved)."""
    tree = ast.parse(LAUNCH.read_text())
    names = {t.id: n.value.value for n in tree.body if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant)
             for t in n.targets if isinstance(t, ast.Name)}
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Node":
            values = {}
            for kw in node.keywords:
                if isinstance(kw.value, ast.Constant):
                    values[kw.arg] = kw.value.value
                elif isinstance(kw.value, ast.Name) and kw.value.id in names:
                    values[kw.arg] = names[kw.value.id]
            calls.append(values)
    return calls


def launch_topic_arguments() -> dict[str, tuple[str, str]]:
    """The launch file's TOPIC_ARGUMENTS table (launch argument → default topic, description)."""
    for node in ast.parse(LAUNCH.read_text()).body:
        if isinstance(node, ast.AnnAssign | ast.Assign):
            target = node.target if isinstance(node, ast.AnnAssign) else node.targets[0]
            if getattr(target, "id", None) == "TOPIC_ARGUMENTS":
                return ast.literal_eval(node.value)  # type: ignore[arg-type]
    raise AssertionError("TOPIC_ARGUMENTS not found in the launch file")


def config_classes() -> dict[str, type]:
    """YAML node key → the dataclass whose fields are that node's declared parameters."""
    from leovl_ros.agent.node_config import DialogueConfig, FusionConfig
    from leovl_ros.ros.sim_camera_node import SimCameraConfig

    return {"fusion": FusionConfig, "dialogue": DialogueConfig, "sim_camera": SimCameraConfig}


def test_launch_executables_exist_in_setup_py():
    nodes = launch_nodes()
    scripts = console_scripts()
    assert nodes, "the launch file starts no Node"
    for node in nodes:
        assert node.get("package") == "leovl_ros"
        assert node.get("executable") in scripts, f"{node.get('executable')} is not a setup.py entry point"
        assert "name" not in node, "a node name would rename both nodes of the agent process"
    assert {"agent", "leovl-agent", "fusion_node", "dialogue_node", "leovl-ask", "leovl-demo"} <= scripts


def test_launch_file_references_shipped_files():
    text = LAUNCH.read_text()
    for name in ("agent.yaml", "fastdds.xml"):
        assert f'"{name}"' in text and (PKG / "config" / name).is_file()
    assert "FASTDDS_DEFAULT_PROFILES_FILE" in text and "SetEnvironmentVariable" in text
    compile(text, str(LAUNCH), "exec")


def test_launch_remaps_topics_the_nodes_use():
    classes = config_classes()
    defaults = {f.default for cls in classes.values() for f in dataclasses.fields(cls) if f.name.endswith("_topic")}
    for arg, (topic, _) in launch_topic_arguments().items():
        assert topic in defaults, f"launch argument {arg} remaps {topic}, which no node subscribes by default"
    parameters = {f.default: f.name for cls in classes.values() for f in dataclasses.fields(cls)
                  if f.name.endswith("_topic")}
    for arg, (topic, _) in launch_topic_arguments().items():
        assert arg == parameters[topic], f"launch argument {arg} sets {topic}, the parameter {parameters[topic]}"
    assert "colour_topic" in launch_topic_arguments()


def test_yaml_keys_are_declared_parameters():
    data = yaml.safe_load(YAML.read_text())
    classes = config_classes()
    assert set(data) == set(classes), f"YAML nodes {sorted(data)} != {sorted(classes)}"
    for node, section in data.items():
        declared = {f.name for f in dataclasses.fields(classes[node])}
        unknown = set(section["ros__parameters"]) - declared
        assert not unknown, f"{node}: YAML keys {sorted(unknown)} are not declared parameters"
        defaults = {f.name: f.default for f in dataclasses.fields(classes[node])}
        for key, value in section["ros__parameters"].items():
            assert type(value) is type(defaults[key]), f"{node}.{key}: YAML {value!r} vs default {defaults[key]!r}"


def test_yaml_loads_into_the_real_nodes(tmp_path):
    """Both agent nodes built in-process from the YAML: names match its keys, every value arrives."""
    from dialogue_fixtures import build_tiny_model

    from leovl_ros.agent.answering import load_agent
    from leovl_ros.cfg.stand_in import PooledColourEncoder
    from leovl_ros.ros.dialogue_node import DialogueNode
    from leovl_ros.ros.fusion_node import FusionNode
    from leovl_ros.ros.lifecycle import bring_up

    data = yaml.safe_load(YAML.read_text())
    agent = load_agent(str(build_tiny_model(tmp_path / "model", feature_dim=32)))
    context = Context()
    rclpy.init(args=["--ros-args", "--params-file", str(YAML)], context=context)
    try:
        fusion = FusionNode(encoder=PooledColourEncoder(feature_dim=32), context=context)
        dialogue = DialogueNode(map_handle=lambda: fusion.map_handle, agent=agent, context=context)
        try:
            bring_up([fusion, dialogue])  # lifecycle nodes: the parameters are read at configure
            for node in (fusion, dialogue):
                assert node.get_name() in data
                for key, value in data[node.get_name()]["ros__parameters"].items():
                    assert node.get_parameter(key).value == value, f"{node.get_name()}.{key}"
            assert dialogue.map is fusion.map_handle, "the agent nodes must share one map"
        finally:
            dialogue.destroy_node()
            fusion.destroy_node()
    finally:
        rclpy.try_shutdown(context=context)


def test_launch_description_builds_where_launch_ros_exists():
    pytest.importorskip("launch_ros", reason="launch_ros is not on PyPI; the static checks above cover this file")
    import importlib.util

    from launch.actions import DeclareLaunchArgument, OpaqueFunction

    spec = importlib.util.spec_from_file_location("agent_launch", LAUNCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    description = module.generate_launch_description()
    names = {e.name for e in description.entities if isinstance(e, DeclareLaunchArgument)}
    assert LAUNCH_ARGUMENTS | set(launch_topic_arguments()) <= names
    assert sum(isinstance(e, OpaqueFunction) for e in description.entities) == 1, "the agent starts in start_agent"


# ------------------------------------------------------------------------------------------- robot conventions

LAUNCH_ARGUMENTS = {"params_file", "camera", "namespace", "pose_source", "use_sim_time", "log_level"}
"""Launch arguments besides the topic ones (issue 31: named like the parameters they set)."""


class _Recorded:
    """Stand-in of a launch action or description: keeps its arguments."""

    def __init__(self, *args, **kwargs) -> None:
        self.args, self.kwargs = args, kwargs


def stubbed_launch_module(monkeypatch):
    """The launch file executed against minimal stand-ins of ``launch`` / ``launch_ros`` (neither is on PyPI)."""
    import importlib.util
    import sys
    import types

    class LaunchConfiguration:
        def __init__(self, name: str) -> None:
            self.name = name

        def perform(self, context: dict) -> str:
            return context[self.name]

    class FindPackageShare:
        def __init__(self, package: str) -> None:
            assert package == "leovl_ros"

        def perform(self, context: dict) -> str:
            return str(PKG)  # the source tree has the share folder's config/

    names = {"launch": {"LaunchDescription": type("LaunchDescription", (_Recorded,), {})},
             "launch.actions": {n: type(n, (_Recorded,), {}) for n in
                                ("DeclareLaunchArgument", "OpaqueFunction", "SetEnvironmentVariable")},
             "launch.substitutions": {"LaunchConfiguration": LaunchConfiguration},
             "launch_ros": {}, "launch_ros.actions": {"Node": type("Node", (_Recorded,), {})},
             "launch_ros.substitutions": {"FindPackageShare": FindPackageShare}}
    for module_name, attrs in names.items():
        module = types.ModuleType(module_name)
        module.__dict__.update(attrs)
        monkeypatch.setitem(sys.modules, module_name, module)
    spec = importlib.util.spec_from_file_location("agent_launch_stubbed", LAUNCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def run_launch(monkeypatch, **given: str) -> tuple[dict, list]:
    """Declared arguments (name → default) and the actions ``start_agent`` returns for ``given`` values."""
    module = stubbed_launch_module(monkeypatch)
    description = module.generate_launch_description()
    declared = {e.args[0]: e.kwargs["default_value"] for e in description.args[0]
                if type(e).__name__ == "DeclareLaunchArgument"}
    (opaque,) = [e for e in description.args[0] if type(e).__name__ == "OpaqueFunction"]
    unknown = set(given) - set(declared)
    assert not unknown, f"not launch arguments: {unknown}"
    return declared, opaque.kwargs["function"]({**declared, **given})


def test_launch_arguments_are_named_like_the_parameters(monkeypatch):
    from leovl_ros.agent.node_config import FusionConfig

    declared, _ = run_launch(monkeypatch)
    assert LAUNCH_ARGUMENTS | set(launch_topic_arguments()) <= set(declared)
    fusion = {f.name for f in dataclasses.fields(FusionConfig)}
    assert {"pose_source", *launch_topic_arguments()} <= fusion
    text = LAUNCH.read_text()
    assert '"RMW_IMPLEMENTATION"' not in text, "the launch file must not force an RMW"


def test_launch_defaults_start_the_agent_unchanged(monkeypatch):
    monkeypatch.delenv("FASTDDS_DEFAULT_PROFILES_FILE", raising=False)
    monkeypatch.delenv("RMW_IMPLEMENTATION", raising=False)
    _, actions = run_launch(monkeypatch)
    (node,) = [a for a in actions if type(a).__name__ == "Node"]
    assert node.kwargs["executable"] == "agent" and node.kwargs["namespace"] is None
    assert node.kwargs["parameters"] == [str(YAML), {"use_sim_time": False}]
    assert node.kwargs["remappings"] == []
    env = {a.args[0]: a.args[1] for a in actions if type(a).__name__ == "SetEnvironmentVariable"}
    assert env == {"FASTDDS_DEFAULT_PROFILES_FILE": str(PKG / "config" / "fastdds.xml")}


def test_launch_camera_namespace_pose_source_and_sim_time(monkeypatch):
    monkeypatch.setenv("RMW_IMPLEMENTATION", "rmw_cyclonedds_cpp")
    _, actions = run_launch(monkeypatch, camera="realsense", colour_topic="/head/rgb", namespace="/robot1",
                            pose_source="odometry", use_sim_time="true")
    assert [type(a).__name__ for a in actions] == ["Node"], "no Fast DDS profile under another RMW"
    node = actions[0]
    assert node.kwargs["namespace"] == "robot1"
    assert node.kwargs["remappings"] == [
        ("camera/color/image_raw", "/head/rgb"),
        ("camera/aligned_depth_to_color/image_raw", "/camera/camera/aligned_depth_to_color/image_raw"),
        ("camera/color/camera_info", "/camera/camera/color/camera_info")]
    params_file, overrides = node.kwargs["parameters"]
    assert overrides == {"use_sim_time": True, "pose_source": "odometry"}
    rewritten = yaml.safe_load(Path(params_file).read_text())
    assert set(rewritten) == {f"/**/{k}" for k in yaml.safe_load(YAML.read_text())}, "keys for any namespace"
    monkeypatch.setenv("FASTDDS_DEFAULT_PROFILES_FILE", "/mine.xml")
    monkeypatch.delenv("RMW_IMPLEMENTATION")
    _, actions = run_launch(monkeypatch, camera="zed")
    assert [type(a).__name__ for a in actions] == ["Node"], "the user's profile stays"
    with pytest.raises(ValueError, match="unknown camera preset"):
        run_launch(monkeypatch, camera="kinect")
