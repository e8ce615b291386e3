"""Where the project finds data it does not ship (the shared reference data) and what it ships."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

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


def image_encoder_dir(model_dir: Path) -> Optional[Path]:
    """The folder of a checkpoint's 2D encoder (``model_dir/image_encoder`` or ``model_dir`` itself holding
    ``image_encoder.json``), or None when the checkpoint ships none."""
    folder = Path(model_dir)
    return next((d for d in (folder / "image_encoder", folder) if (d / "image_encoder.json").is_file()), None)
