"""Rewrite the ROS wheels' CMake exports to this venv's Python and numpy include folders.

The PyPI ROS 2 wheels carry the include paths of the machine that built them
(``/opt/python/cp311-cp311/...``); rosidl's Python generator for leovl_interfaces links against those
targets, so the paths must point at this interpreter before cmake runs. Idempotent.
"""

from __future__ import annotations

import re
import sys
import sysconfig
from pathlib import Path

import numpy

BUILD_PY_INCLUDE = re.compile(r"/opt/python/cp3\d+-cp3\d+/include/python3\.\d+")
BUILD_NUMPY_INCLUDE = re.compile(r"/opt/python/cp3\d+-cp3\d+/lib/python3\.\d+/site-packages/numpy/_core/include")


def fix(venv: Path) -> int:
    """Rewrite every ``share/**/*.cmake`` under ``venv``; returns the number of files changed."""
    py_include = sysconfig.get_paths()["include"]
    np_include = numpy.get_include()
    changed = 0
    for path in (venv / "share").rglob("*.cmake"):
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        new = BUILD_NUMPY_INCLUDE.sub(np_include, text)
        new = BUILD_PY_INCLUDE.sub(py_include, new)
        if new != text:
            path.write_text(new, encoding="utf-8", errors="surrogateescape")
            changed += 1
    return changed


if __name__ == "__main__":
    venv_dir = Path(sys.argv[1] if len(sys.argv) > 1 else ".venv")
    n = fix(venv_dir)
    print(f"fix_ros_cmake: {n} CMake files rewritten to {sysconfig.get_paths()['include']}")
