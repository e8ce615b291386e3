"""The whole chain: data → stage 1 → scenes → SFT (+ blind baseline) → SceneDPO → presence fit → answer types →
absent-gate calibration → evaluation → models/default.

    python training/recipe.py --preset quick --run runs/quick
    python training/recipe.py --preset default --run runs/default --export models/default

Presets (training/presets): ``quick`` (minutes; tests and tuning), ``default`` (the shipped models/default, sized
for 2 CPU cores; ``make train-default``), ``default_voxel`` (its voxel-token ablation), ``gpu`` (a larger LLM whose
stages 2-3 are sized for one GPU: training/scripts/gpu.sh). ``real_gpu`` (real scans, a pretrained vision tower and
LLM + LoRA, several GPUs) has its own chain: training/scripts/real_gpu.sh, docs/training_real.md.
Finished steps are skipped on a rerun (each stage also resumes from its state.pt), so an interrupted recipe
continues where it stopped; a run folder made with another configuration is refused (``--allow-config-change``
resumes it anyway). ``--nproc N`` runs the training stages under torchrun with N processes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from leovl_ros.agent.paths import REPO_ROOT, default_model_dir
from training.config import config_changes, load_preset, save_run_config

HERE = Path(__file__).resolve().parent


def _run(script: str, args: list[str], nproc: int = 1) -> None:
    """Run a training script as a subprocess (under torchrun when nproc > 1); raise on failure."""
    launcher = [sys.executable]
    if nproc > 1:
        launcher += ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"]
    cmd = [*launcher, str(HERE / script), *args]
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def export(run: Path, model_dir: Path, target: Path, encoder: Path) -> None:
    """Copy checkpoint, 2D encoder, metrics and plots into the shipped-model folder (replacing it)."""
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(model_dir, tmp)
    shutil.copytree(encoder, tmp / "image_encoder")
    for name in ("metrics.json", "qa_by_type.png", "accuracy_vs_tokens.png"):
        shutil.copy2(run / "eval" / name, tmp / name)
    for stage in ("stage1", "sft", "dpo", "blind"):
        if (run / stage / "loss.png").is_file():
            shutil.copy2(run / stage / "loss.png", tmp / f"loss_{stage}.png")
    shutil.copy2(run / "timings.json", tmp / "timings.json")
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)


def summary(metrics: dict, timings: dict[str, float], shipped: Optional[dict], preset: str) -> str:
    """The lines a newcomer reads when the recipe ends: this run's held-out EM on both wording sets and the blind
    baseline's, its wall time, and what the shipped model's full recipe reached (its ``metrics.json``)."""
    def ems(m: dict) -> str:
        blind = m.get("blind", {}).get("em")
        return (f"EM {m['qa']['em']:.1f} % (training wordings) / {m['qa_unseen_wording']['em']:.1f} % (held-out "
                f"wordings)" + (f", blind baseline {blind:.1f} %" if blind is not None else ""))

    minutes = sum(v for k, v in timings.items() if k != "train_total_s") / 60
    lines = [f"{preset} recipe: {minutes:.1f} min; held-out rooms {ems(metrics)}"]
    if shipped is not None:
        lines.append(f"the full recipe (make train-default, models/default/metrics.json): {ems(shipped)}")
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="quick",
                    help="preset name (training/presets: quick, default, default_voxel, gpu) or YAML path")
    ap.add_argument("--run", type=Path, required=True, help="run folder (data, stages, eval)")
    ap.add_argument("--data", type=Path, help="data folder (default: RUN/data); reused when already prepared")
    ap.add_argument("--nproc", type=int, default=1, help="processes per training stage (torchrun)")
    ap.add_argument("--export", type=Path, help="copy the final model here (e.g. models/default)")
    ap.add_argument("--no-blind", action="store_true", help="skip the blind baseline")
    ap.add_argument("--allow-config-change", action="store_true",
                    help="resume a run folder made with another configuration (its finished steps are reused)")
    args = ap.parse_args(argv)
    cfg = load_preset(args.preset)
    run, data = args.run, args.data or args.run / "data"
    changed = config_changes(cfg, run)
    if changed and not args.allow_config_change:
        shown = "\n  ".join(changed[:12]) + ("\n  …" if len(changed) > 12 else "")
        ap.error(f"{run} was made with another configuration ({len(changed)} settings differ); its finished steps "
                 f"would be reused:\n  {shown}\n"
                 f"use a new --run folder, delete {run}, or pass --allow-config-change")
    save_run_config(cfg, run, {"recipe": True, "argv": sys.argv})
    p = ["--preset", args.preset, "--data", str(data)]
    timings: dict[str, float] = {}

    def step(name: str, done: Path, script: str, extra: list[str], nproc: int = 1) -> None:
        t0 = time.time()
        if not done.exists():
            _run(script, extra, nproc)
        timings[name] = round(time.time() - t0, 1)

    if cfg.stage1.encoder:  # a trained 2D encoder used as it is: no stage 1
        encoder = (REPO_ROOT / cfg.stage1.encoder).resolve()
    else:
        encoder = run / "stage1" / "encoder"
        step("frames", data / "stage1.npz", "prepare.py", ["frames", "--preset", args.preset, "--out", str(data)])
        step("stage1", run / "stage1" / "stage1_metrics.json", "train.py",
             ["--stage", "1", *p, "--run-dir", str(run / "stage1")], args.nproc)
    step("scenes", data / "stats.json", "prepare.py",
         ["scenes", "--preset", args.preset, "--out", str(data), "--encoder", str(encoder)])
    enc = ["--encoder", str(encoder)]
    step("sft", run / "sft" / "history.json", "train.py", ["--stage", "2", *p, "--run-dir", str(run / "sft"), *enc],
         args.nproc)
    if not args.no_blind:
        step("blind", run / "blind" / "history.json", "train.py",
             ["--stage", "2", *p, "--run-dir", str(run / "blind"), *enc, "--blind"], args.nproc)
    final = run / "sft" / "model"
    if cfg.dpo.steps > 0:
        step("dpo", run / "dpo" / "history.json", "train.py",
             ["--stage", "3", *p, "--run-dir", str(run / "dpo"), "--init", str(final)], args.nproc)
        final = run / "dpo" / "model"
    if cfg.eval.presence_rooms > 0 and cfg.model.get("reader", {}).get("presence"):
        step("presence", run / "presence.json", "fit_presence.py",
             ["--data", str(data), "--model", str(final), "--rooms", str(cfg.eval.presence_rooms),
              "--out", str(run / "presence.json")])
    if cfg.eval.answer_type_rooms > 0 and cfg.model.get("text_encoder", "minilm") == "minilm":
        step("answer_types", run / "answer_types.json", "fit_answer_types.py",
             ["--model", str(final), "--rooms", str(cfg.eval.answer_type_rooms),
              "--out", str(run / "answer_types.json")])
    if cfg.eval.absent_gate_rooms > 0:
        step("calibrate", run / "calibration.json", "calibrate_absent.py",
             ["--data", str(data), "--model", str(final), *enc, "--rooms", str(cfg.eval.absent_gate_rooms),
              "--questions", str(cfg.eval.absent_gate_questions), "--write", "--out", str(run / "calibration.json")])
    ev = ["--data", str(data), "--preset", args.preset, "--model", str(final), "--out", str(run / "eval")]
    if cfg.dpo.steps > 0:
        ev += ["--sft", str(run / "sft" / "model")]
    if not args.no_blind:
        ev += ["--blind", str(run / "blind" / "model")]
    step("eval", run / "eval" / "metrics.json", "evaluate.py", ev)
    timings["train_total_s"] = sum(v for k, v in timings.items() if k in ("frames", "stage1", "scenes", "sft", "dpo"))
    (run / "timings.json").write_text(json.dumps(timings, indent=1))
    if args.export:
        export(run, final, args.export, encoder)
    print(json.dumps(timings))
    shipped = default_model_dir() / "metrics.json"
    print(summary(json.loads((run / "eval" / "metrics.json").read_text()), timings,
                  json.loads(shipped.read_text()) if shipped.is_file() else None, cfg.name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
