"""Test helper: fusion nodes side by side in one process, ``python -m fusion_pair PARAMS.yaml NAME [NAME ...]``.

A test that compares pose sources runs a reference node and the node under test on the same frames; one process
imports torch and the model once for both (on a 2-core machine that halves the start-up). Each node reads its own
section of PARAMS.yaml (keys ``/NAME``), and talks to the test over DDS like any node.
"""

from __future__ import annotations

import sys

from leovl_ros.ros.fusion_node import FusionNode
from leovl_ros.ros.node_main import run_nodes


def main() -> int:
    """Start the named fusion nodes with the parameter file; exit code as ``run_nodes``."""
    own = sys.argv[: sys.argv.index("--ros-args")] if "--ros-args" in sys.argv else sys.argv
    params, names = own[1], own[2:]
    return run_nodes([lambda name=name: FusionNode(node_name=name) for name in names],
                     args=[sys.argv[0], "--ros-args", "--params-file", params])


if __name__ == "__main__":
    raise SystemExit(main())
