"""Print the pinned lock of the venv: every distribution pip installed (not the egg-info folders that the ROS
wheels carry inside themselves, which PyPI does not serve), torch without its local ``+cpu`` label."""

from __future__ import annotations

import importlib.metadata as md

HEADER = """# Pinned lock of every Python package the project needs: `make lock` regenerates it from requirements.in.
# torch is the CPU build (pip takes it from this machine's disk, or the PyPI CPU wheel)."""


def main() -> None:
    pins = set()
    for dist in md.distributions():
        name = dist.metadata["Name"]
        installer = (dist.read_text("INSTALLER") or "").strip()
        if installer != "pip" or name.lower().replace("-", "_") in {"leovl_ros"}:
            continue
        pins.add(f"{name}=={dist.version.split('+')[0]}")
    print(HEADER)
    print("\n".join(sorted(pins, key=str.lower)))


if __name__ == "__main__":
    main()
