"""Train one stage (torchrun DDP or plain python = world size 1), resumable, with a loss-curve PNG.

    python training/train.py --stage 1 --preset quick --data data_cache/quick --run-dir runs/quick/stage1
    torchrun --nproc_per_node 2 training/train.py --stage 2 --preset quick --data data_cache/quick \\
        --run-dir runs/quick/sft --encoder runs/quick/stage1
    python training/train.py --stage 3 --preset quick --data data_cache/quick --run-dir runs/quick/dpo \\
        --init runs/quick/sft/model
    torchrun --nproc_per_node 8 training/train.py --stage 2 --preset real_gpu --data data_cache/real \\
        --run-dir runs/real/sft --encoder pretrained/siglip --llm pretrained/qwen2.5-7b-instruct

Stage 1: the SmallCNN 2D encoder on per-cell class/colour targets. Stage 2: SFT of CFG encoder + projector + LLM
(``--blind`` trains the same LLM without scene tokens: the baseline); with a pretrained LLM (``--llm`` or
``model.llm.pretrained_path``) and ``use_lora`` only LoRA adapters train in it, its own weights stay frozen. Stage 3:
SceneDPO against a frozen copy of the SFT model. Each run folder gets config.yml (resolved config + git SHA),
state.pt (resume), model/, loss.png and replicas.json (each rank's digest of its trainable parameters: equal under
DDP). docs/training_real.md: the recipe for real scans on GPUs.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import random
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch
from torch.nn import functional as F

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from leovl_ros.model.checkpoint import frozen_llm_weights
from leovl_ros.model.numerics import flushed_denormals
from training import ddp
from training.config import RecipeConfig, load_preset, save_run_config
from training.data import STAGE1, load_scenes, make_item, scene_split_ids, stream_samples, target_vocab

QA_TASKS = ["qa", "situated_qa"]


def _schedule(step: int, total: int, warmup: int) -> float:
    """Linear warm-up then cosine decay to 10 %."""
    if step < warmup:
        return (step + 1) / max(1, warmup)
    t = (step - warmup) / max(1, total - warmup)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))


def plot_losses(history: list[dict[str, float]], path: Path, title: str) -> None:
    """Loss curves (every logged key but 'step') as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for key in [k for k in (history[0] if history else {}) if k != "step"]:
        ax.plot([h["step"] for h in history], [h[key] for h in history], label=key)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


class Loop:
    """Resumable optimisation loop: state.pt every ``save_every`` steps, logged history, tqdm on rank 0."""

    def __init__(self, run: Path, d: ddp.Dist, model: torch.nn.Module, opt: torch.optim.Optimizer, steps: int,
                 warmup: int, log_every: int, save_every: int, save: Callable[[], None]) -> None:
        self.run, self.d, self.model, self.opt = run, d, model, opt
        self.steps, self.warmup, self.log_every, self.save_every, self.save = steps, warmup, log_every, save_every, save
        self.start, self.history = 0, []
        run.mkdir(parents=True, exist_ok=True)
        self.base_lr = [g["lr"] for g in opt.param_groups]
        self.frozen = frozen_llm_weights(model) if hasattr(model, "llm") else set()
        state = run / "state.pt"
        if state.is_file():
            ck = torch.load(state, map_location=d.device, weights_only=False)
            missing, unexpected = model.load_state_dict(ck["model"], strict=False)
            if set(missing) - self.frozen or unexpected:
                raise ValueError(f"{state} does not fit this model: missing {sorted(set(missing) - self.frozen)[:5]}, "
                                 f"unexpected {unexpected[:5]}; use a fresh --run-dir")
            opt.load_state_dict(ck["opt"])
            self.start, self.history = ck["step"], ck["history"]

    def resume_state(self) -> dict[str, torch.Tensor]:
        """The model state that state.pt keeps: everything but a LoRA model's frozen base LLM (loaded from its
        folder; a 7B base would make every resume point tens of GB)."""
        return {k: v for k, v in self.model.state_dict().items() if k not in self.frozen}

    def report_replicas(self, local_loss: float) -> None:
        """replicas.json (rank 0): each rank's sha256 of its trainable parameters and the mean of its own,
        un-averaged loss; under DDP the digests agree (averaged gradients) while the losses differ (each rank
        trains on its own share of the samples)."""
        import hashlib

        digest = hashlib.sha256()
        for p in self.model.parameters():
            if p.requires_grad:
                digest.update(p.detach().float().cpu().contiguous().numpy().tobytes())
        mine = {"rank": self.d.rank, "trainable_sha256": digest.hexdigest(), "local_loss": local_loss}
        ranks = ddp.gather(mine, self.d)
        if self.d.is_main:
            (self.run / "replicas.json").write_text(json.dumps({"world_size": self.d.world_size, "ranks": ranks}))

    def run_steps(self, step_fn: Callable[[], dict[str, torch.Tensor]], grad_clip: float = 1.0,
                  time_limit: float = 0.0) -> list[dict]:
        """Run the remaining steps of ``step_fn`` (returns a dict of losses with 'loss' to optimise); with a
        ``time_limit`` (seconds) the loop stops early, saving the last state."""
        from tqdm import tqdm

        t0 = time.time()
        bar = tqdm(range(self.start, self.steps), initial=self.start, total=self.steps, disable=not self.d.is_main,
                   desc=self.run.name, unit="step")
        acc: dict[str, float] = {}
        local = []
        for step in bar:
            for g, lr in zip(self.opt.param_groups, self.base_lr):
                g["lr"] = lr * _schedule(step, self.steps, self.warmup)
            losses = step_fn()
            local.append(float(losses["loss"].detach()))
            self.opt.zero_grad(set_to_none=True)
            losses["loss"].backward()
            torch.nn.utils.clip_grad_norm_([p for p in self.model.parameters() if p.requires_grad], grad_clip)
            self.opt.step()
            for k, v in losses.items():
                acc[k] = acc.get(k, 0.0) + float(v.detach())
            if (step + 1) % self.log_every == 0 or step + 1 == self.steps:
                n = (step % self.log_every) + 1
                point = {"step": step + 1, **{k: ddp.mean(v / n, self.d) for k, v in acc.items()}}
                self.history.append(point)
                bar.set_postfix(loss=f"{point['loss']:.3f}")
                acc = {}
            out_of_time = bool(time_limit) and ddp.mean(float(time.time() - t0 > time_limit), self.d) > 0
            last = step + 1 == self.steps or out_of_time
            if out_of_time and ((step + 1) % self.log_every):
                self.history.append({"step": step + 1, **{k: ddp.mean(v / ((step % self.log_every) + 1), self.d)
                                                          for k, v in acc.items()}})
            if self.d.is_main and ((step + 1) % self.save_every == 0 or last):
                torch.save({"model": self.resume_state(), "opt": self.opt.state_dict(), "step": step + 1,
                            "history": self.history}, self.run / "state.pt")
                self.save()
            if out_of_time:
                break
        self.report_replicas(float(np.mean(local)) if local else float("nan"))
        if self.d.is_main:
            (self.run / "history.json").write_text(json.dumps(self.history))
            if self.history:
                plot_losses(self.history, self.run / "loss.png", self.run.name)
        ddp.barrier(self.d)
        return self.history


def _balanced_weights(targets: torch.Tensor, n: int, power: float) -> torch.Tensor:
    """Cross-entropy class weights ∝ frequency^-power, normalised to mean 1 over the classes present."""
    freq = torch.bincount(targets.flatten(), minlength=n).float()
    w = torch.where(freq > 0, freq.clamp_min(1).pow(-power), torch.zeros(()))
    return w * (freq > 0).sum() / w.sum()


def stage1_accuracy(enc: torch.nn.Module, rgb: torch.Tensor, cls: torch.Tensor, col: torch.Tensor,
                    object_classes: int, batch: int = 16) -> dict[str, float]:
    """Per-cell class/colour accuracy of the SmallCNN, overall and on object cells (what QA needs)."""
    hits = {"class": [], "colour": []}
    with torch.no_grad():
        for i in range(0, rgb.shape[0], batch):
            x = rgb[i : i + batch].permute(0, 3, 1, 2).float().div(255).to(next(enc.parameters()).device)
            _, lc, lk = enc(x)
            hits["class"].append(lc.argmax(1).cpu() == cls[i : i + batch])
            hits["colour"].append(lk.argmax(1).cpu() == col[i : i + batch])
    h_cls, h_col = torch.cat(hits["class"]), torch.cat(hits["colour"])
    obj = cls < object_classes
    mean = lambda h: float(h.float().mean()) if h.numel() else 0.0  # noqa: E731
    return {"class_acc": mean(h_cls), "colour_acc": mean(h_col), "object_class_acc": mean(h_cls[obj]),
            "object_colour_acc": mean(h_col[obj]), "frames": int(rgb.shape[0])}


def stage1(cfg: RecipeConfig, data: Path, run: Path, d: ddp.Dist, time_limit: float = 0.0) -> None:
    """Train the SmallCNN on random crops with class-balanced per-cell class + colour cross-entropy; report the
    accuracies on frames of scenes it never saw."""
    from leovl_ros.model.config import ImageEncoderConfig
    from leovl_ros.model.image_encoder import SmallCNNEncoder
    from leovl_ros.sim.world import CLASSES

    arr = np.load(data / STAGE1)
    rgb, cls, col = torch.from_numpy(arr["rgb"]), torch.from_numpy(arr["cls"]), torch.from_numpy(arr["colour"])
    s = cfg.stage1
    n_test = max(1, int(round(rgb.shape[0] * s.heldout_frac))) if rgb.shape[0] > 1 else 0
    n_train = rgb.shape[0] - n_test
    classes, colours = target_vocab()
    torch.manual_seed(cfg.seed + d.rank)  # as ddp.setup seeds the CLI: the same encoder whoever calls
    enc = SmallCNNEncoder(ImageEncoderConfig(**{**cfg.image_encoder, "num_classes": len(classes),
                                                "num_colours": len(colours)})).to(d.device)
    model = ddp.wrap(enc, d)
    opt = torch.optim.AdamW(enc.parameters(), lr=s.lr, weight_decay=1e-4)
    g = torch.Generator().manual_seed(cfg.seed + d.rank)
    ch, cw = min(s.crop_cells[0], cls.shape[1]), min(s.crop_cells[1], cls.shape[2])
    w_cls = _balanced_weights(cls[:n_train], len(classes), s.balance).to(d.device)
    w_col = _balanced_weights(col[:n_train], len(colours), s.balance).to(d.device)

    def step() -> dict[str, torch.Tensor]:
        idx = torch.randint(0, n_train, (s.batch_size,), generator=g)
        i0 = int(torch.randint(0, cls.shape[1] - ch + 1, (1,), generator=g))
        j0 = int(torch.randint(0, cls.shape[2] - cw + 1, (1,), generator=g))
        x = rgb[idx, i0 * 8 : (i0 + ch) * 8, j0 * 8 : (j0 + cw) * 8].permute(0, 3, 1, 2).float().div(255)
        t_cls, t_col = cls[idx, i0 : i0 + ch, j0 : j0 + cw], col[idx, i0 : i0 + ch, j0 : j0 + cw]
        if bool(torch.rand((), generator=g) < 0.5):  # mirror images: a left-right flip keeps class and colour
            x, t_cls, t_col = x.flip(-1), t_cls.flip(-1), t_col.flip(-1)
        _, lc, lk = model(x.to(d.device))
        l_cls = F.cross_entropy(lc, t_cls.to(d.device), weight=w_cls)
        l_col = F.cross_entropy(lk, t_col.to(d.device), weight=w_col)
        return {"loss": l_cls + s.colour_weight * l_col, "class": l_cls, "colour": l_col}

    loop = Loop(run, d, enc, opt, s.steps, 0, 10, max(50, s.steps // 4), lambda: enc.save(run / "encoder"))
    loop.run_steps(step, time_limit=time_limit)
    if d.is_main:
        enc.eval()
        held = slice(n_train, None) if n_test else slice(None)  # a single frame: report on it (tiny runs)
        acc = {**stage1_accuracy(enc, rgb[held], cls[held], col[held], len(CLASSES)), "heldout": bool(n_test)}
        (run / "stage1_metrics.json").write_text(json.dumps(acc))
        print(json.dumps({"stage1_heldout": acc}), flush=True)
        enc.save(run / "encoder")


def image_encoder_entry(enc: Any, encoder_dir: Path) -> dict[str, Any]:
    """The checkpoint's ``image_encoder`` config of the frozen 2D encoder it is trained on: a SmallCNN's settings
    (its weights ship in the model folder), or a vision tower's absolute folder, input size and width."""
    from leovl_ros.model.image_encoder import SmallCNNEncoder

    if isinstance(enc, SmallCNNEncoder):
        return {k: v for k, v in vars(enc.config).items() if k != "path"}
    return {"kind": "hf", "path": str(Path(encoder_dir).expanduser().resolve()), "image_size": enc.image_size,
            "feature_dim": enc.feature_dim}


def build_model(cfg: RecipeConfig, data: Path, encoder_dir: Path, use_scene: bool, init: Optional[Path] = None):
    """A LeoVLModel: tokenizer from the data folder (or the pretrained LLM's folder), CFG encoder sized to the 2D
    encoder's features (the stage-1 SmallCNN or a Hugging Face vision tower folder); with ``init`` the weights of
    that checkpoint wherever shapes match (a warm start). Parts the init lacks — the scene-norm gain and the label
    anchors — are set from the (loaded) word embeddings, so they start aligned with them."""
    from leovl_ros.model.checkpoint import load_checkpoint
    from leovl_ros.model.config import LeoVLConfig, from_dict, upgrade_model_keys
    from leovl_ros.model.image_encoder import SmallCNNEncoder
    from leovl_ros.model.leovl import LeoVLModel
    from leovl_ros.model.llm import load_pretrained_tokenizer
    from leovl_ros.model.tokenizer import load_tokenizer
    from training.real_data import load_encoder

    enc = load_encoder(encoder_dir)
    if cfg.label_anchors and not isinstance(enc, SmallCNNEncoder):
        raise ValueError(f"label_anchors needs the stage-1 SmallCNN's class/colour heads; {encoder_dir} is a vision "
                         "tower without them: set label_anchors: false in the preset")
    model_cfg = upgrade_model_keys(copy.deepcopy(cfg.model), strict=False)
    llm = model_cfg.get("llm") or {}
    if llm.get("pretrained_path"):  # absolute, so the checkpoint loads from any working directory
        model_cfg["llm"] = {**llm, "pretrained_path": str(Path(llm["pretrained_path"]).expanduser().resolve())}
    classes, colours = target_vocab()
    anchors = {"anchor_classes": len(classes), "anchor_colours": len(colours)} if cfg.label_anchors else {}
    model_cfg["cfg_encoder"] = {**model_cfg.get("cfg_encoder", {}), "feature_dim": enc.feature_dim, **anchors}
    model_cfg["image_encoder"] = image_encoder_entry(enc, encoder_dir)
    model_cfg["condense"] = cfg.data.condense
    model_cfg["use_scene"] = use_scene
    config = from_dict(LeoVLConfig, model_cfg)
    tokenizer = load_pretrained_tokenizer(config.llm) if config.llm.pretrained_path else load_tokenizer(data)
    model = LeoVLModel(config, tokenizer)
    fresh = set(model.state_dict())
    if init is not None:
        own = model.state_dict()
        loaded = {k: v for k, v in load_checkpoint(init).state_dict().items() if k in own and v.shape == own[k].shape}
        model.load_state_dict(loaded, strict=False)
        fresh -= set(loaded)
        print(f"initialised from {init}; fresh: {sorted(fresh)}", flush=True)
    if init is not None and config.scene_norm and "cfg_encoder.out_norm.weight" in fresh:
        model.align_scene_scale()  # LeoVLModel set it from the fresh embeddings; the init replaced those
    if cfg.label_anchors and "cfg_encoder.anchor_table" in fresh:
        with torch.no_grad():
            table = torch.stack([model.embed(tokenizer.encode(" " + name, add_special_tokens=False)).mean(0)
                                 for name in (*classes, *colours)])
        model.cfg_encoder.set_label_anchors(enc.class_head, enc.colour_head, table)
    return model


def use_precision(model: Any, precision: str, device: torch.device) -> None:
    """Run a LeoVLModel's LLM under bfloat16 autocast for ``precision: bfloat16`` (its float32 master weights stay):
    the LLM does nearly all the work; the LEO-VL parts around it stay float32 (their scatters and losses mix
    dtypes)."""
    if precision == "bfloat16":
        model.llm.forward = torch.autocast(device.type, dtype=torch.bfloat16)(model.llm.forward)


def training_scenes(data: Path, device: torch.device) -> dict[str, dict[str, torch.Tensor]]:
    """The cached scenes of the training split, on ``device`` (held-out rooms are not even loaded)."""
    train = scene_split_ids(data, "train")
    return {k: {n: t.to(device) for n, t in v.items()} for k, v in load_scenes(data, train).items()}


def wrong_scene(scene_ids: list[str], own: str, rng: random.Random) -> str:
    """SceneDPO's negative scene for a sample of ``own``: another of ``scene_ids`` (the training rooms)."""
    others = [i for i in scene_ids if i != own]
    return rng.choice(others or scene_ids)


def _batches(stream: Iterator, size: int) -> Callable[[], list]:
    return lambda: [next(stream) for _ in range(size)]


def stage2(cfg: RecipeConfig, data: Path, run: Path, d: ddp.Dist, encoder_dir: Path, blind: bool,
           time_limit: float = 0.0, init: Optional[Path] = None) -> None:
    """SFT: next-token loss on the answers of every task family, scene tokens in the prompt (none when blind).

    With ``init`` the weights start from that checkpoint (see ``build_model``)."""
    from leovl_ros.model.checkpoint import save_checkpoint

    s = cfg.sft
    model = build_model(cfg, data, encoder_dir, use_scene=not blind, init=init).to(d.device)
    use_precision(model, cfg.precision, d.device)
    if blind:
        model.cfg_encoder.requires_grad_(False)
        model.reader.requires_grad_(False)  # no scene: the reader never runs
        if model.presence is not None:
            model.presence.requires_grad_(False)
    scenes = training_scenes(data, d.device)
    wrapped = ddp.wrap(model, d)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=s.lr, weight_decay=s.weight_decay)
    next_batch = _batches(stream_samples(data, "train", s.tasks, d.rank, d.world_size, cfg.seed), s.batch_size)

    ground = s.grounding_weight > 0 and not blind
    word = s.evidence_weight > 0 and not blind
    present = s.presence_weight > 0 and not blind and model.presence is not None

    def step() -> dict[str, torch.Tensor]:
        items = [make_item(model, x, scenes[x.scene_id]) for x in next_batch()]
        out = iter(wrapped(items, grounding=ground, evidence=word, presence=present))
        logp, n = next(out), next(out)
        losses = {"lm": -logp.sum() / n.sum().clamp_min(1)}
        if ground:
            nll, has = next(out), next(out)
            losses["grounding"] = nll.sum() / has.sum().clamp_min(1)
        if word:
            losses["evidence"] = next(out).sum() / max(1, sum(it.scene is not None for it in items))
        if present:
            nll, has = next(out), next(out)
            losses["presence"] = nll.sum() / has.sum().clamp_min(1)
        weights = {"lm": 1.0, "grounding": s.grounding_weight, "evidence": s.evidence_weight,
                   "presence": s.presence_weight}
        return {"loss": sum(weights[k] * v for k, v in losses.items()), **losses}

    loop = Loop(run, d, model, opt, s.steps, s.warmup, s.log_every, s.save_every,
                lambda: save_checkpoint(model, run / "model", {"stage": "sft", "blind": blind}))
    t0 = time.time()
    loop.run_steps(step, s.grad_clip, time_limit)
    if d.is_main:
        (run / "train_time.json").write_text(json.dumps({"seconds": time.time() - t0, **model.parameter_count()}))


class AnswerPool:
    """Canonical training answers per question type, to draw a plausible wrong answer for DPO."""

    def __init__(self, samples: Iterator, limit: int = 20000) -> None:
        self.by_type: dict[str, list[str]] = {}
        for i, x in enumerate(samples):
            if i >= limit:
                break
            pool = self.by_type.setdefault(x.question_type, [])
            if x.answers[0] not in pool:
                pool.append(x.answers[0])

    def wrong(self, sample: Any, rng: random.Random) -> Optional[str]:
        """An answer of the same type that matches none of the references (None when there is none)."""
        from leovl_ros.eval.metrics import exact_match

        options = [a for a in self.by_type.get(sample.question_type, []) if not exact_match(a, sample.answers)]
        return rng.choice(options) if options else None


def stage3(cfg: RecipeConfig, data: Path, run: Path, d: ddp.Dist, init: Path, time_limit: float = 0.0) -> None:
    """SceneDPO from the SFT checkpoint: answer contrast + scene contrast + NLL, frozen reference."""
    from leovl_ros.model.checkpoint import load_checkpoint, save_checkpoint
    from leovl_ros.model.losses import SceneDPOTerms, scene_dpo_loss

    s = cfg.dpo
    model = load_checkpoint(init, device=d.device).train()
    reference = load_checkpoint(init, device=d.device).eval().requires_grad_(False)
    for m in (model, reference):
        use_precision(m, cfg.precision, d.device)
    scenes = training_scenes(data, d.device)
    scene_ids = sorted(scenes)  # the wrong scenes: training rooms only
    pool = AnswerPool(stream_samples(data, "train", QA_TASKS, epochs=1))
    rng = random.Random(cfg.seed + d.rank)
    wrapped = ddp.wrap(model, d)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=s.lr)
    stream = stream_samples(data, "train", QA_TASKS, d.rank, d.world_size, cfg.seed + 1)

    def step() -> dict[str, torch.Tensor]:
        chosen, wrong_a, wrong_s = [], [], []
        while len(chosen) < s.batch_size:
            x = next(stream)
            bad = pool.wrong(x, rng)
            if bad is None:
                continue
            other = wrong_scene(scene_ids, x.scene_id, rng)
            chosen.append(make_item(model, x, scenes[x.scene_id]))
            wrong_a.append(make_item(model, x, scenes[x.scene_id], answer=bad))
            wrong_s.append(make_item(model, x, scenes[other]))
        items = chosen + wrong_a + wrong_s
        b = len(chosen)
        logp, n = wrapped(items)
        with torch.no_grad():
            ref, _ = reference(items)
        terms = lambda v: SceneDPOTerms(v[:b], v[b : 2 * b], v[2 * b :])  # noqa: E731
        return scene_dpo_loss(terms(logp), terms(ref), n[:b], s.beta, s.w_a, s.w_s)

    loop = Loop(run, d, model, opt, s.steps, 0, s.log_every, max(50, s.steps // 2),
                lambda: save_checkpoint(model, run / "model", {"stage": "scenedpo"}))
    loop.run_steps(step, time_limit=time_limit)


def main(argv: Optional[list[str]] = None) -> int:
    """CLI entry point (torchrun or plain python)."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stage", type=int, choices=[1, 2, 3], required=True, help="1 encoder, 2 SFT, 3 SceneDPO")
    ap.add_argument("--preset", default="quick", help="preset name (training/presets) or YAML path")
    ap.add_argument("--data", type=Path, required=True, help="data folder from prepare.py")
    ap.add_argument("--run-dir", type=Path, required=True, help="run folder (resumes if state.pt is there)")
    ap.add_argument("--encoder", type=Path, help="stage 2: the frozen 2D encoder the data was fused with: the "
                    "stage-1 SmallCNN folder or a Hugging Face vision tower folder (SigLIP / CLIP / DINOv2)")
    ap.add_argument("--llm", type=Path, help="stage 2: local Hugging Face folder of a pretrained causal LM "
                    "(overrides the preset's model.llm.pretrained_path; LoRA per model.llm.use_lora)")
    ap.add_argument("--init", type=Path, help="stage 3: the SFT checkpoint folder; stage 2: optional warm start")
    ap.add_argument("--blind", action="store_true", help="stage 2: no scene tokens (the blind baseline)")
    ap.add_argument("--steps", type=int, help="override the preset's step count of this stage")
    ap.add_argument("--batch-size", type=int, help="override the preset's batch size of this stage")
    ap.add_argument("--time-limit", type=float, default=0.0, help="stop (and save) after this many seconds")
    args = ap.parse_args(argv)
    cfg = load_preset(args.preset)
    if args.llm is not None:
        cfg.model["llm"] = {**(cfg.model.get("llm") or {}), "pretrained_path": str(args.llm)}
    if args.steps is not None:
        {1: cfg.stage1, 2: cfg.sft, 3: cfg.dpo}[args.stage].steps = args.steps
    if args.batch_size is not None:
        {1: cfg.stage1, 2: cfg.sft, 3: cfg.dpo}[args.stage].batch_size = args.batch_size
    d = ddp.setup(cfg.seed)
    try:
        with flushed_denormals():  # denormal operands slowed SFT ~4x (leovl_ros.model.numerics)
            if d.is_main:
                extra = {"stage": args.stage, "world_size": d.world_size, "argv": sys.argv}
                save_run_config(cfg, args.run_dir, extra)
            ddp.barrier(d)
            if args.stage == 1:
                stage1(cfg, args.data, args.run_dir, d, args.time_limit)
            elif args.stage == 2:
                if args.encoder is None:
                    ap.error("--stage 2 needs --encoder")
                stage2(cfg, args.data, args.run_dir, d, args.encoder, args.blind, args.time_limit, args.init)
            else:
                if args.init is None:
                    ap.error("--stage 3 needs --init")
                stage3(cfg, args.data, args.run_dir, d, args.init, args.time_limit)
        ddp.barrier(d)  # every rank done (the main one writes the model last) before any tears its group down
    finally:
        ddp.teardown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
