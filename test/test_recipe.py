"""training/recipe.py: the quick preset's given 2D encoder, the closing lines where a newcomer sees their run's EM
next to what the full recipe reached, and the refusal to resume a run folder made with another configuration."""

import json
import sys

import pytest

from leovl_ros.agent.paths import REPO_ROOT, default_model_dir

sys.path.insert(0, str(REPO_ROOT))

from training.config import config_changes, load_preset, save_run_config
from training.recipe import main, summary


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


def test_a_run_folder_remembers_its_configuration(tmp_path):
    quick = load_preset("quick")
    assert config_changes(quick, tmp_path / "new") == []  # nothing saved yet
    save_run_config(quick, tmp_path / "run", {"recipe": True})
    assert config_changes(quick, tmp_path / "run") == []  # the same preset resumes (tuples/lists, the _run block)
    quick.sft.steps += 100
    assert config_changes(quick, tmp_path / "run") == [f"sft.steps: {quick.sft.steps - 100} → {quick.sft.steps}"]


def test_the_recipe_refuses_to_mix_configurations(tmp_path, capsys):
    save_run_config(load_preset("quick"), tmp_path / "run", {"recipe": True})
    before = (tmp_path / "run" / "config.yml").read_text()
    with pytest.raises(SystemExit) as stop:  # before any step runs
        main(["--preset", "default", "--run", str(tmp_path / "run"), "--no-blind"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "another configuration" in err and "data.frames: 16 → 24" in err and "--allow-config-change" in err
    assert (tmp_path / "run" / "config.yml").read_text() == before  # not overwritten
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["config.yml"]
