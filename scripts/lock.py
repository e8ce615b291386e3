"""The pinned lock, requirements.txt: one set of pins per Python, merged into one file with version markers.

``lock.py pins`` prints what pip installed in this interpreter's venv, from a wheel or an sdist: not the egg-info
folders the ROS wheels carry inside themselves (PyPI does not serve them), nor torch's CUDA runtime (torch's own
metadata pins it exactly); torch loses its local ``+cpu`` label. ``lock.py merge MAIN PY310`` writes the lock: the
pins both sets agree on unmarked, the others under ``python_version >= "3.11"`` or ``< "3.11"``. Python 3.10 needs
its own set because many current releases (numpy 2.3+, matplotlib 3.11, …) require 3.11. ``make lock`` runs both.
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import re
from pathlib import Path

HEADER = """# Pinned lock of every Python package the project needs: `make lock` regenerates it from requirements.in.
# Python 3.11 and 3.12 share one set of pins; Python 3.10 has its own where a release needs 3.11 (the markers).
# torch 2.13.0: on this machine's Python 3.11 pip takes the CPU build from disk; elsewhere PyPI's build, which on
# x86_64 pulls its CUDA runtime (about 3 GB; torch pins those packages itself, so they are not listed here)."""

MARKERS = ('python_version >= "3.11"', 'python_version < "3.11"')
"""Markers of the main set (3.11 and newer) and of the 3.10 set."""

TORCH_RUNTIME = re.compile(r"^(nvidia-.*|cuda-.*|triton)$")
"""torch's CUDA runtime packages: exact pins in torch's own metadata, and x86_64-only."""


def canonical(name: str) -> str:
    """PEP 503 form of a distribution name, so 'PyYAML' and 'pyyaml' are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_pins() -> dict[str, str]:
    """{name: version} of what pip installed here, leovl_ros and torch's CUDA runtime aside."""
    pins = {}
    for dist in md.distributions():
        name = dist.metadata["Name"]
        by_pip = (dist.read_text("INSTALLER") or "").strip() == "pip"
        legacy = dist.read_text("installed-files.txt") is not None  # pip's `setup.py install` of an sdist
        if not (by_pip or legacy) or canonical(name) in {"leovl-ros"} or TORCH_RUNTIME.match(canonical(name)):
            continue
        pins[name] = dist.version.split("+")[0]
    return pins


def read_pins(path: Path) -> dict[str, str]:
    """{name: version} from a file of ``name==version`` lines (what ``pins`` prints)."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            if not sep or ";" in version:
                raise ValueError(f"{path}: expected name==version, got {line!r}")
            pins[name.strip()] = version.strip()
    return pins


def merge(main: dict[str, str], py310: dict[str, str]) -> list[str]:
    """Lock lines: a pin both Pythons share, unmarked; any other under its Python's marker."""
    by_key = {canonical(n): n for n in (*py310, *main)}
    main_v = {canonical(n): v for n, v in main.items()}
    old_v = {canonical(n): v for n, v in py310.items()}
    lines = []
    for key in sorted(by_key):
        name, new, old = by_key[key], main_v.get(key), old_v.get(key)
        if new == old:
            lines.append(f"{name}=={new}")
            continue
        if new is not None:
            lines.append(f"{name}=={new}; {MARKERS[0]}")
        if old is not None:
            lines.append(f"{name}=={old}; {MARKERS[1]}")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("pins", help="print this venv's pins, name==version per line")
    m = sub.add_parser("merge", help="print the lock from two files of pins")
    m.add_argument("main", type=Path, help="pins of the Python 3.11 venv (also used for 3.12)")
    m.add_argument("py310", type=Path, help="pins of a Python 3.10 venv built from the same requirements.in")
    args = parser.parse_args(argv)
    if args.command == "pins":
        print("\n".join(f"{n}=={v}" for n, v in sorted(installed_pins().items(), key=lambda nv: canonical(nv[0]))))
    else:
        print(HEADER)
        print("\n".join(merge(read_pins(args.main), read_pins(args.py310))))


if __name__ == "__main__":
    main()
