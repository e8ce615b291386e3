"""training/recipe.py: the quick preset's given 2D encoder, and the closing lines where a newcomer sees their run's EM
next to what the full recipe reached."""

import json
import sys

from leovl_ros.agent.paths import REPO_ROOT, default_model_dir

sys.path.insert(0, str(REPO_ROOT))

from training.config import load_preset
from training.recipe import summary


def _metrics(seen: float, unseen: float, blind=None) -> dict:
    m = {"qa": {"em": seen}, "qa_unseen_wording": {"em": unseen}}
    if blind is not None:
        m["blind"] = {"em": blind}
    return m


def test_summary_names_the_run_and_the_shipped_model():
    shipped = json.loads((default_model_dir() / "metrics.json").read_text())
    text = summary(_metrics(42.66, 41.0, 36.0), {"sft": 300.0, "eval": 60.0, "train_total_s": 300.0}, shipped, "quick")
    first, second = text.splitlines()
    assert first.startswith("quick recipe: 6.0 min") and "EM 42.7 %" in first and "41.0 %" in first
    assert "blind baseline 36.0 %" in first
    assert "make train-default" in second and f"{shipped['qa']['em']:.1f} %" in second


def test_summary_without_a_shipped_model_or_blind_run():
    text = summary(_metrics(40.0, 39.0), {"sft": 60.0}, None, "quick")
    assert text == "quick recipe: 1.0 min; held-out rooms EM 40.0 % (training wordings) / 39.0 % (held-out wordings)"


def test_quick_preset_starts_from_the_shipped_encoder_of_its_own_shape():
    """`make train-quick` skips stage 1 for the shipped 2D encoder; clearing stage1.encoder trains the same shape."""
    cfg = load_preset("quick")
    folder = REPO_ROOT / cfg.stage1.encoder
    shipped = json.loads((folder / "image_encoder.json").read_text())
    assert (folder / "image_encoder.safetensors").is_file()
    assert {k: shipped[k] for k in cfg.image_encoder} == cfg.image_encoder
    assert load_preset("default").stage1.encoder == ""  # the full recipe trains its own
