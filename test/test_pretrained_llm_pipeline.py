"""The real-scan recipe (training/presets/real_gpu.yaml) end to end with tiny local folders in place of its
pretrained models: a SigLIP tower fuses the rooms, a randomly initialised Qwen2 or Llama with its own tokenizer is
the LLM with LoRA; SFT → SceneDPO → training/evaluate.py → the exported checkpoint answers as evaluate.py did. Only
LoRA and the CFG encoder / projector / reader / question projection train; the base LLM stays as it was loaded."""

from __future__ import annotations

import json
import shutil
import sys

import pytest
import torch
import yaml
from safetensors.torch import load_file

from leovl_ros.agent.paths import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT))

from tiny_pretrained import FAMILIES, corpus_of, save_llm, tiny_data, tiny_recipe

from training import ddp
from training.config import load_preset
from training.train import build_model, stage2, stage3

pytestmark = pytest.mark.slow  # fuses rooms and trains two tiny models: about a minute each on 2 cores


def _base_weights(folder) -> dict[str, torch.Tensor]:
    """The pretrained folder's own weights."""
    return load_file(str(folder / "model.safetensors"))


def test_real_gpu_preset_parses_into_the_config_dataclasses():
    """The preset as the GPU recipe uses it: a pretrained LLM with LoRA over attention and MLP, bf16 autocast, no
    label anchors (a tower has no class heads), SFT on the three real task families, SceneDPO with both contrasts."""
    from leovl_ros.model.config import LeoVLConfig, from_dict, upgrade_model_keys

    cfg = load_preset("real_gpu")
    model = from_dict(LeoVLConfig, upgrade_model_keys(cfg.model, strict=False))
    assert model.llm.pretrained_path and model.llm.use_lora and "down_proj" in model.llm.lora_targets
    assert cfg.precision == "bfloat16" and not cfg.label_anchors
    assert set(cfg.sft.tasks) == {"qa", "situated_qa", "object_caption"}
    assert cfg.dpo.steps > 0 and cfg.dpo.w_a > 0 and cfg.dpo.w_s > 0


def test_a_missing_pretrained_folder_is_named(tmp_path):
    from leovl_ros.model.config import LLMConfig
    from leovl_ros.model.llm import pretrained_folder

    with pytest.raises(FileNotFoundError, match="not a local Hugging Face model folder"):
        pretrained_folder(LLMConfig(pretrained_path=str(tmp_path / "Qwen/Qwen2.5-7B-Instruct")))


@pytest.mark.parametrize("family", FAMILIES)
def test_lora_sft_scenedpo_evaluate_export(family, tmp_path):
    from leovl_ros.model.checkpoint import frozen_llm_weights, load_checkpoint
    from training.evaluate import answer_all
    from training.evaluate import main as evaluate_main

    data, tower = tiny_data()
    llm = save_llm(family, tmp_path / "llm", corpus_of(data))
    cfg, preset = tiny_recipe("real_gpu", tmp_path, llm=llm)
    d = ddp.Dist(rank=0, world_size=1, device=torch.device("cpu"))

    # what trains: LoRA inside the LLM and every LEO-VL part around it; the base LLM's own weights are frozen
    model = build_model(cfg, data, tower, use_scene=True)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    in_llm = {n for n in trainable if n.startswith("llm.")}
    assert in_llm and all("lora_" in n for n in in_llm)
    assert frozen and all(n.startswith("llm.") and "lora_" not in n for n in frozen)
    for part in ("cfg_encoder.", "reader.", "question_encoder.proj."):
        assert any(n.startswith(part) for n in trainable), part
    assert model.config.image_encoder.kind == "hf" and model.tokenizer.eos_token_id == model.answer_ids("x")[-1]
    n_trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    base_state = frozen_llm_weights(model)  # the frozen weights and their tied aliases (a tied lm_head)
    assert frozen <= base_state
    del model

    stage2(cfg, data, tmp_path / "sft", d, tower, blind=False)
    stage3(cfg, data, tmp_path / "dpo", d, tmp_path / "sft" / "model")
    assert {"lm", "grounding", "evidence"} <= set(json.loads((tmp_path / "sft" / "history.json").read_text())[0])
    assert {"l_a", "l_s", "l_nll"} <= set(json.loads((tmp_path / "dpo" / "history.json").read_text())[0])

    # the checkpoint holds LoRA + the LEO-VL parts, not the base LLM (that loads from its folder, unchanged)
    saved = load_file(str(tmp_path / "dpo" / "model" / "model.safetensors"))
    assert saved and not set(saved) & base_state and any("lora_B" in k for k in saved)
    assert any(float(v.abs().max()) > 0 for k, v in saved.items() if "lora_B" in k)  # trained (B starts at 0)
    resumed = torch.load(tmp_path / "sft" / "state.pt", weights_only=False)["model"]
    assert not set(resumed) & base_state  # resume points leave the frozen base out too
    requires = yaml.safe_load((tmp_path / "dpo" / "model" / "config.yaml").read_text())["requires"]["llm"]
    assert requires["hidden_size"] == 48 and requires["model_type"] == family
    dpo = load_checkpoint(tmp_path / "dpo" / "model")
    base = _base_weights(llm)
    own = {k.replace("llm.base_model.model.", "").replace(".base_layer", ""): v for k, v in dpo.state_dict().items()
           if k in frozen}
    assert set(base) <= set(own) and all(torch.equal(own[k], base[k]) for k in base)
    del dpo

    out = tmp_path / "eval"
    assert evaluate_main(["--data", str(data), "--model", str(tmp_path / "dpo" / "model"), "--preset", str(preset),
                          "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["qa"]["n"] == 4 and metrics["params"]["trainable"] == n_trainable

    # export: a copy of the checkpoint folder loads elsewhere and gives evaluate.py's answers
    export = tmp_path / "export"
    shutil.copytree(tmp_path / "dpo" / "model", export)
    predicted = json.loads((out / "main_predictions.json").read_text())["qa"]
    from training.data import load_scenes, read_heldout

    heldout = read_heldout(data)
    asked = [heldout[i * len(heldout) // 4] for i in range(4)]
    assert [s.question_id for s in asked] == [r["question_id"] for r in predicted]
    again = answer_all(load_checkpoint(export), asked, load_scenes(data, {s.scene_id for s in asked}), 4)
    assert [g.text for g in again] == [r["prediction"] for r in predicted]

    # the base folder must still hold the model it was trained on
    other = save_llm("llama" if family == "qwen2" else "qwen2", tmp_path / "other", corpus_of(data))
    config = yaml.safe_load((export / "config.yaml").read_text())
    config["llm"]["pretrained_path"] = str(other)
    (export / "config.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(ValueError, match="trained on a pretrained LLM"):
        load_checkpoint(export)
