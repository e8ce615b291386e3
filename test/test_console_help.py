"""Every console script of setup.py answers ``--help`` with readable text and exit 0, without starting a node.

Each script runs in its own subprocess with ``rclpy.init`` replaced by a function that exits with code 99: a script
that would start a node (or touch DDS at all) before printing its help fails with that code.
"""

from __future__ import annotations

import ast
import subprocess
import sys

from leovl_ros.agent.paths import REPO_ROOT

NODE_PARAMETERS = {"fusion_node": "min_image_size", "dialogue_node": "model_path", "sim_camera_node": "colour_topic"}
"""Node executables and one parameter their help must list (the config dataclass's fields)."""

_RUN = """
import sys
import rclpy

def _no_init(*args, **kwargs):
    print("rclpy.init called: a node would start", file=sys.stderr)
    raise SystemExit(99)

rclpy.init = _no_init
module, func, name = sys.argv[1:4]
sys.argv = [name, "--help"]
main = getattr(__import__(module, fromlist=[func]), func)
sys.exit(main())
"""


def console_scripts() -> dict[str, str]:
    """setup.py's console_scripts: name → ``module:function`` (parsed, not executed)."""
    tree = ast.parse((REPO_ROOT / "leovl_ros" / "setup.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if isinstance(key, ast.Constant) and key.value == "console_scripts":
                    entries = [ast.literal_eval(e) for e in value.elts]  # type: ignore[attr-defined]
                    return {e.split("=")[0].strip(): e.split("=")[1].strip() for e in entries}
    raise AssertionError("no console_scripts in setup.py")


def test_every_console_script_answers_help_without_starting_a_node():
    scripts = console_scripts()
    assert set(NODE_PARAMETERS) <= set(scripts)
    procs = {}
    for name, target in scripts.items():
        module, func = target.split(":")
        procs[name] = subprocess.Popen([sys.executable, "-c", _RUN, module, func, name], stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True)
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"{name} --help exited {proc.returncode}: {err[-2000:]}"
        assert "usage:" in out, f"{name} --help printed no usage: {out[:500]}"
        assert "``" not in out, f"{name} --help shows raw markup: {out[:500]}"
        if name in NODE_PARAMETERS:
            assert NODE_PARAMETERS[name] in out, f"{name} --help does not list its parameters"
