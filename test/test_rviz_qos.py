"""The shipped Rviz layout subscribes each leovl topic with QoS its publisher can serve and that keeps what it latches.

Publisher QoS is read from the node sources (the QoS helper passed to ``create_publisher``): a latched publisher
(``latched_qos``: transient local) needs a transient-local display, or an Rviz opened later shows nothing; a volatile
one needs a volatile display (a transient-local subscription gets nothing from a volatile publisher).
"""

from __future__ import annotations

import re

import yaml

from leovl_ros.agent.paths import REPO_ROOT

PKG = REPO_ROOT / "leovl_ros"
RVIZ = PKG / "config" / "leovl.rviz"
NODES = {"fusion": PKG / "leovl_ros" / "ros" / "fusion_node.py",
         "dialogue": PKG / "leovl_ros" / "ros" / "dialogue_node.py"}
PUBLISHER = re.compile(r'create_(?:lifecycle_)?publisher\(\s*\w+,\s*"~/(\w+)",\s*(\w+)\(')


def publisher_durability() -> dict[str, str]:
    """``/node/topic`` → "Transient Local" or "Volatile", from the QoS helper each publisher uses."""
    out = {}
    for node, path in NODES.items():
        for topic, helper in PUBLISHER.findall(path.read_text()):
            out[f"/{node}/{topic}"] = "Transient Local" if helper == "latched_qos" else "Volatile"
    return out


def rviz_topics() -> dict[str, dict]:
    """Topic → the display's Topic block, for every display of the layout."""
    data = yaml.safe_load(RVIZ.read_text())
    return {d["Topic"]["Value"]: d["Topic"] for d in data["Visualization Manager"]["Displays"] if "Topic" in d}


def test_rviz_durability_matches_the_publishers() -> None:
    published = publisher_durability()
    assert {"/fusion/cfg", "/dialogue/grounding", "/dialogue/goal"} <= set(published)
    shown = {t: b for t, b in rviz_topics().items() if t in published}
    assert {"/fusion/cfg", "/fusion/cfg_markers", "/dialogue/grounding", "/dialogue/goal"} <= set(shown)
    for topic, block in shown.items():
        assert block["Durability Policy"] == published[topic], f"{topic}: Rviz {block['Durability Policy']} vs " \
                                                               f"publisher {published[topic]}"
        assert block["Reliability Policy"] == "Reliable", topic
        if published[topic] == "Transient Local":
            assert block["Depth"] == 1, f"{topic}: a latched topic keeps one message"
