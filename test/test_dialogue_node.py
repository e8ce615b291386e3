"""Dialogue node over real DDS (subprocess, private domain): ask service, topic interface, goal, markers, rejections."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from diagnostic_msgs.msg import DiagnosticArray
from dialogue_fixtures import build_tiny_model, fused_store
from geometry_msgs.msg import PoseStamped
from ros_helpers import RosProbe, node_process
from std_msgs.msg import String
from visualization_msgs.msg import Marker, MarkerArray

from leovl_interfaces.srv import Ask
from leovl_ros.ros.qos import latched_qos

pytestmark = pytest.mark.ros

NODE = "/dialogue"


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    root = tmp_path_factory.mktemp("dialogue_node")
    fused_store().save(root / "map.safetensors")
    return {"model": str(build_tiny_model(root / "model")), "map": str(root / "map.safetensors")}


@pytest.fixture(scope="module")
def node(assets):
    params = {"model_path": assets["model"], "map_file": assets["map"], "busy_timeout_s": 5.0}
    with node_process("leovl_ros.ros.dialogue_node", params) as proc:
        yield proc


def ask(probe: RosProbe, client, question: str, session: str = "", **pose) -> Ask.Response:
    """One Ask call (with a situation pose when ``pose`` gives x, y, yaw)."""
    request = Ask.Request(question=question, session_id=session)
    if pose:
        request.has_situation_pose = True
        request.situation_pose.position.x, request.situation_pose.position.y = pose["x"], pose["y"]
        request.situation_pose.orientation.z = math.sin(pose["yaw"] / 2)
        request.situation_pose.orientation.w = math.cos(pose["yaw"] / 2)
    return probe.call(client, request, timeout=30.0)


def test_ask_end_to_end_with_goal_and_markers(node):
    with RosProbe() as probe:
        goals = probe.collect(PoseStamped, f"{NODE}/goal", latched_qos())
        markers = probe.collect(MarkerArray, f"{NODE}/grounding", latched_qos())
        client = probe.wait_for_service(Ask, f"{NODE}/ask", timeout=60.0, proc=node)
        reply = ask(probe, client, "where is the red chair?", session="s1", x=0.5, y=0.5, yaw=0.0)
        assert reply.success, reply.error + node.log()
        assert reply.answer and reply.scene_tokens > 0 and reply.latency_ms > 0 and reply.error == ""
        assert len(reply.cell_ids) > 0
        assert probe.spin_until(lambda: goals and markers, 10.0, node), "no goal / grounding markers"
        goal = goals[-1]
        assert goal.header.frame_id == "map"
        assert -0.5 < goal.pose.position.x < 4.5 and -0.5 < goal.pose.position.y < 3.5
        yaw = 2 * math.atan2(goal.pose.orientation.z, goal.pose.orientation.w)
        expected = math.atan2(goal.pose.position.y - 0.5, goal.pose.position.x - 0.5)
        assert abs(math.remainder(yaw - expected, 2 * math.pi)) < 1e-3, "goal must face away from the asker"
        last = markers[-1].markers
        assert last[0].action == Marker.DELETEALL and Marker.SPHERE_LIST in [m.type for m in last[1:]]
        cells = [m for m in last if m.ns == "grounded_cells"]
        assert len(cells) == len(reply.cell_ids) and all(0.05 < m.scale.x < 2.0 for m in cells)
        arrow = next(m for m in last if m.ns == "situation")  # where the asker stands, facing +x
        assert arrow.type == Marker.ARROW and (arrow.pose.position.x, arrow.pose.position.y) == (0.5, 0.5)
        assert (arrow.pose.orientation.z, arrow.pose.orientation.w) == (0.0, 1.0)
        follow_up = ask(probe, client, "and what colour is it?", session="s1")
        assert follow_up.success and follow_up.scene_tokens == reply.scene_tokens
        # send_nav_goal is off by default: nothing a navigation stack listens to is published
        assert probe.node.count_publishers("/nav_goal") == 0 and probe.node.count_publishers("/goal_pose") == 0


def test_bad_questions_rejected_node_keeps_answering(node):
    with RosProbe() as probe:
        status = probe.collect(DiagnosticArray, f"{NODE}/status")
        client = probe.wait_for_service(Ask, f"{NODE}/ask", timeout=60.0, proc=node)
        for question, reason in [("", "question_empty"), ("x" * 10_240, "question_too_long"),
                                 ("why \x07 beep", "question_encoding"),
                                 ("when did you last see my keys?", "question_unknown_object")]:
            reply = ask(probe, client, question)
            assert not reply.success and reply.error.startswith(reason) and reply.answer == ""
        bad_session = ask(probe, client, "is there a lamp?", session="no spaces allowed")
        assert not bad_session.success and bad_session.error.startswith("session_invalid")
        assert ask(probe, client, "is there a lamp?", session="brand-new").success
        assert node.alive()

        def counted() -> bool:
            values = {kv.key: kv.value for msg in status for kv in msg.status[0].values}
            return (values.get("question_too_long") == "1" and values.get("session_invalid") == "1"
                    and values.get("question_unknown_object") == "1")

        assert probe.spin_until(counted, 5.0, node), "rejections must be counted in ~/status"
    assert node.log().count("request rejected (question_empty") == 1


def test_topic_interface(node):
    with RosProbe() as probe:
        answers = probe.collect(String, f"{NODE}/answer")
        pub = probe.publisher(String, f"{NODE}/question")
        probe.wait_for_subscribers(pub, timeout=60.0)
        pub.publish(String(data="how many chairs are in the room?"))
        pub.publish(String(data=""))
        pub.publish(String(data="is there a fridge?"))
        assert probe.spin_until(lambda: len(answers) >= 3, 30.0, node), node.log()
        assert answers[0].data and not answers[0].data.startswith("error:")
        assert answers[1].data.startswith("error: question_empty")
        assert answers[2].data.startswith("error: question_unknown_object: the question names 'fridge'")


@pytest.mark.slow
def test_empty_map_clear_answer(assets):
    with node_process("leovl_ros.ros.dialogue_node", {"model_path": assets["model"]}, name="empty_dialogue") as proc, \
            RosProbe() as probe:
        client = probe.wait_for_service(Ask, "/empty_dialogue/ask", timeout=60.0, proc=proc)
        reply = ask(probe, client, "how many chairs are in the room?")
        assert not reply.success and "empty" in reply.answer and reply.error.startswith("empty_map")


@pytest.mark.slow
def test_missing_checkpoint_fails_at_start(tmp_path):
    with node_process("leovl_ros.ros.dialogue_node", {"model_path": str(tmp_path / "none")}) as proc:
        proc.proc.wait(timeout=60)
        log = proc.log()
    assert proc.returncode == 2, log
    assert "model checkpoint not found" in log and "make train-default" in log


def leovl_ask(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    """``leovl-ask`` without ``--map``: a separate process asking the node over DDS."""
    return subprocess.run([sys.executable, "-m", "leovl_ros.agent.ask_cli", *args], input=stdin,
                          capture_output=True, text=True, timeout=120)


def test_leovl_ask_asks_the_running_node(node):
    with RosProbe() as probe:
        probe.wait_for_service(Ask, f"{NODE}/ask", timeout=60.0, proc=node)
    done = leovl_ask("--json", "--session", "cli", "how many chairs are in the room?", "is there a fridge?")
    assert done.returncode == 1, done.stderr  # the fridge is refused: the exit code says one question was
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert first["success"] and first["answer"] and first["scene_tokens"] > 0 and first["cell_ids"], first
    assert not second["success"] and second["reason"] == "question_unknown_object" and not second["answer"]
    # typed one a line: blank lines skipped, "quit" ends; the session carries "it" to the lamp
    typed = leovl_ask("--session", "typed", stdin="is there a lamp?\n\nwhere is it?\nquit\nnever asked\n")
    assert typed.returncode == 0, typed.stderr + node.log()
    assert [line for line in typed.stdout.splitlines() if line.startswith("Q: ")] == [
        "Q: is there a lamp?", "Q: where is it?"]
    assert "A: " in typed.stdout and "rejected" not in typed.stdout
    assert node.alive()


def test_leovl_ask_without_an_agent_says_so():
    done = leovl_ask("--service", "/nobody/ask", "--wait", "1", "is there a lamp?")
    assert done.returncode == 2 and "no Ask service /nobody/ask" in done.stderr and "leovl-agent" in done.stderr
    wrong = leovl_ask("--model", "elsewhere", "is there a lamp?")
    assert wrong.returncode == 2 and "--model: only with --map" in wrong.stderr
