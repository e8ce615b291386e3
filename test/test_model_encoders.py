"""2D encoders: SmallCNN shapes/heads/save-load, a tiny random transformers vision tower loaded from disk."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from leovl_ros.model.config import ImageEncoderConfig
from leovl_ros.model.image_encoder import HFVisionEncoder, ImageEncoder, SmallCNNEncoder, load_image_encoder


def test_small_cnn_stride_8_features_and_heads():
    enc = SmallCNNEncoder(ImageEncoderConfig(feature_dim=32, num_classes=18, num_colours=9))
    rgb = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    feats = enc.encode(rgb)
    assert isinstance(enc, ImageEncoder)
    assert feats.shape == (1, 32, 30, 40) and feats.dtype == torch.float32
    assert not feats.requires_grad and torch.isfinite(feats).all()
    f, cls, col = enc.train()(torch.rand(2, 3, 64, 96))
    assert f.shape == (2, 32, 8, 12) and cls.shape == (2, 18, 8, 12) and col.shape == (2, 9, 8, 12)


def test_small_cnn_batch_matches_single_and_rejects_bad_input():
    enc = SmallCNNEncoder()
    rgb = torch.randint(0, 255, (2, 48, 64, 3), dtype=torch.uint8)
    both = enc.encode(rgb)
    assert torch.allclose(both[1:], enc.encode(rgb[1].numpy()), atol=1e-5)
    with pytest.raises(ValueError, match="uint8"):
        enc.encode(rgb.float())
    with pytest.raises(ValueError, match="RGB"):
        enc.encode(np.zeros((48, 64), np.uint8))


def test_small_cnn_context_layers_widen_the_receptive_field():
    """A pixel change 40 px away reaches a cell only through the dilated context convolutions."""
    x = torch.rand(1, 3, 96, 160)
    far = x.clone()
    far[..., 48:56, 120:128] += 0.5  # 72 px to the right of the probed cell's pixels
    for layers, reaches in ((0, False), (3, True)):
        torch.manual_seed(0)
        enc = SmallCNNEncoder(ImageEncoderConfig(feature_dim=8, width=8, context_layers=layers)).eval()
        with torch.no_grad():
            a, b = enc.features(x)[0, :, 6, 6], enc.features(far)[0, :, 6, 6]
        assert bool((a - b).abs().max() > 1e-6) == reaches


@pytest.mark.parametrize("context_layers", [0, 2])
def test_small_cnn_save_load_roundtrip(tmp_path, context_layers):
    enc = SmallCNNEncoder(ImageEncoderConfig(feature_dim=16, width=16, context_layers=context_layers))
    enc.save(tmp_path)
    again = load_image_encoder(ImageEncoderConfig(path=str(tmp_path)))
    rgb = np.random.default_rng(1).integers(0, 255, (40, 56, 3), dtype=np.uint8)
    assert torch.allclose(enc.encode(rgb), again.encode(rgb))
    with pytest.raises(FileNotFoundError):
        SmallCNNEncoder.load(tmp_path / "nothing")


@pytest.mark.parametrize("family", ["dinov2", "siglip", "clip"])
def test_hf_vision_tower_from_local_path(tmp_path, family):
    import transformers as tf

    if family == "dinov2":
        model = tf.Dinov2Model(tf.Dinov2Config(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                               intermediate_size=64, patch_size=8, image_size=32))
    elif family == "siglip":
        model = tf.SiglipVisionModel(tf.SiglipVisionConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                                           intermediate_size=64, patch_size=8, image_size=32))
    else:
        model = tf.CLIPVisionModel(tf.CLIPVisionConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                                       intermediate_size=64, patch_size=8, image_size=32))
    model.save_pretrained(tmp_path)
    enc = load_image_encoder(ImageEncoderConfig(kind="hf", path=str(tmp_path), image_size=32))
    assert isinstance(enc, HFVisionEncoder) and enc.feature_dim == 32 and enc.stride == 8
    rgb = np.random.default_rng(2).integers(0, 255, (2, 60, 80, 3), dtype=np.uint8)
    feats = enc.encode(rgb)
    assert feats.shape == (2, 32, 4, 4) and torch.isfinite(feats).all()
    assert not torch.allclose(feats[0], feats[1])
