"""Where the project finds data it does not ship (the shared reference data) and what it ships."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent
"""The ``leovl_ros`` Python package folder."""
REPO_ROOT = PACKAGE_DIR.parent.parent
"""Source-checkout root (valid for the editable install used everywhere in this project)."""


def shared_data_dir() -> Path:
    """Real RGB-D sequences and benchmark annotations: ``$LEOVL_SHARED_DATA`` or ``../shared/data``."""
    env = os.environ.get("LEOVL_SHARED_DATA")
    return Path(env) if env else (REPO_ROOT.parent / "shared" / "data")


def default_model_dir() -> Path:
    """The small default model trained by ``training/`` and shipped in the repository."""
    env = os.environ.get("LEOVL_MODEL_DIR")
    return Path(env) if env else (REPO_ROOT / "models" / "default")
