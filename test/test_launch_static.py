"""The launch file and agent.yaml checked without ``launch_ros`` (not on PyPI), plus a real load where it imports.

Static: the executables the launch file starts exist in setup.py's entry points, its topic arguments remap
topics the nodes really use, and its files exist. In-process: every key of ``config/agent.yaml`` is a parameter
the node of that name declares, with the YAML's value and type accepted (rclpy with ``--params-file``).
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
    from leovl_ros.ros.dialogue_node import DialogueConfig
    from leovl_ros.ros.fusion_node import FusionConfig
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

    data = yaml.safe_load(YAML.read_text())
    agent = load_agent(str(build_tiny_model(tmp_path / "model", feature_dim=32)))
    context = Context()
    rclpy.init(args=["--ros-args", "--params-file", str(YAML)], context=context)
    try:
        fusion = FusionNode(encoder=PooledColourEncoder(feature_dim=32), context=context)
        dialogue = DialogueNode(map_handle=fusion.map_handle, agent=agent, context=context)
        try:
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

    from launch_ros.actions import Node

    spec = importlib.util.spec_from_file_location("agent_launch", LAUNCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    description = module.generate_launch_description()
    nodes = [e for e in description.entities if isinstance(e, Node)]
    assert len(nodes) == 1 and Path(nodes[0].node_executable).name == "agent"
