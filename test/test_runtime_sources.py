"""Engine sources: both encoders loaded from a checkpoint folder in the shipped layout, clear errors otherwise."""

from __future__ import annotations

import pytest
import torch
import yaml

from leovl_ros.cfg.encoder import CFGEncoder, CFGEncoderConfig
from leovl_ros.model.config import ImageEncoderConfig
from leovl_ros.model.image_encoder import SmallCNNEncoder
from leovl_ros.runtime.manifest import state_dict_sha256
from leovl_ros.runtime.sources import load_encoder_specs
from leovl_ros.runtime.specs import CFG_ENCODER, IMAGE_ENCODER

safetensors_torch = pytest.importorskip("safetensors.torch")


@pytest.fixture(params=[False, True], ids=["plain", "norm+anchors"])
def checkpoint(tmp_path, request):
    """A checkpoint folder as training/recipe.py ships it: config.yaml, model.safetensors, image_encoder/ (with
    and without the scene norm and label anchors, which the exported CFG encoder must include)."""
    torch.manual_seed(7)
    image_enc = SmallCNNEncoder(ImageEncoderConfig(feature_dim=16, width=16))
    extra = {"anchor_classes": 3, "anchor_colours": 2} if request.param else {}
    cfg_enc = CFGEncoder(CFGEncoderConfig(feature_dim=16, hidden_dim=32, num_heads=4, llm_dim=24,
                                          out_norm=request.param, **extra))
    state = {f"cfg_encoder.{k}": v.contiguous() for k, v in cfg_enc.state_dict().items()}
    state["llm.embed.weight"] = torch.zeros(4, 24)  # other model parts live in the same file
    safetensors_torch.save_file(state, str(tmp_path / "model.safetensors"))
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(
        {"format_version": 1, "scene_norm": request.param,
         "cfg_encoder": {"feature_dim": 16, "hidden_dim": 32, "num_heads": 4, **extra}}))
    image_enc.save(tmp_path / "image_encoder")
    return tmp_path, image_enc, cfg_enc


def test_checkpoint_encoders_are_loaded_bit_exact(checkpoint):
    path, image_enc, cfg_enc = checkpoint
    specs = load_encoder_specs(path, image_size=(32, 40))
    assert state_dict_sha256(specs[CFG_ENCODER].module) == state_dict_sha256(cfg_enc)
    assert state_dict_sha256(specs[IMAGE_ENCODER].module.encoder) == state_dict_sha256(image_enc)
    assert specs[CFG_ENCODER].outputs[0].shape == ("N", 24)  # llm_dim read from the projector weights
    assert specs[IMAGE_ENCODER].outputs[0].shape == ("B", 16, 4, 5)  # stride 8 on 32×40
    assert specs[CFG_ENCODER].weights == str(path)


def test_fresh_encoders_are_seeded(checkpoint):
    a, b = load_encoder_specs(fresh=True, seed=3), load_encoder_specs(fresh=True, seed=3)
    c = load_encoder_specs(fresh=True, seed=4)
    assert state_dict_sha256(a[CFG_ENCODER].module) == state_dict_sha256(b[CFG_ENCODER].module)
    assert state_dict_sha256(a[CFG_ENCODER].module) != state_dict_sha256(c[CFG_ENCODER].module)
    assert a[CFG_ENCODER].weights == "random-init(seed=3)"


def test_missing_or_mismatched_checkpoint_fails_clearly(checkpoint, tmp_path_factory):
    with pytest.raises(FileNotFoundError, match="no LEO-VL checkpoint"):
        load_encoder_specs(tmp_path_factory.mktemp("empty"))
    path, _, _ = checkpoint
    (path / "config.yaml").write_text(yaml.safe_dump({"cfg_encoder": {"feature_dim": 16, "hidden_dim": 64}}))
    with pytest.raises(ValueError, match="checkpoint format None"):
        load_encoder_specs(path)
    (path / "config.yaml").write_text(yaml.safe_dump({"format_version": 1,
                                                      "cfg_encoder": {"feature_dim": 16, "hidden_dim": 64}}))
    with pytest.raises(ValueError, match="do not fit config.yaml"):
        load_encoder_specs(path)
