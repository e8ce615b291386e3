"""Fit a checkpoint's column classifier and class-presence head on its training rooms (``reader.presence_columns``).

Class presence ("is there a sofa in this room at all?") decides the absent answers. Its statistics used to come from
the 2D encoder's class heads averaged over each column — heads trained on single pixels, averaged over a column that
mixes the floor under an object with the object. This step trains ``presence.ColumnClasses`` on the fused columns of
synthetic training rooms (target: the classes whose footprints cover a column; floor, wall, ceiling and nothing are
not labelled), then refits ``ClassPresence`` on its statistics against the classes placed in each room (a logistic
regression per class on every class's statistics, ``ClassPresence.fit``); ``--keep-columns`` refits that head alone
on the checkpoint's column classifier. The 2D encoder, the CFG encoder, the LLM and the reader stay as they are. A
share of the rooms (``--holdout``) is kept out of fitting and reports presence before and after: AUC over (room,
class) pairs and the share of absent classes found below the presence of the lowest 0.5 % / 2 % of present ones. Run
before ``calibrate_absent.py`` (the gate's thresholds are presence probabilities). Prints one JSON line (also
``--out``).

    python training/fit_presence.py --data runs/default/data --model runs/default/dpo/model
    python training/fit_presence.py --preset default --model models/default --rooms 2000   # ≈ 15 min on 2 cores
    python training/fit_presence.py --data ROOMS --model models/default --rooms 4000 --keep-columns  # ≈ 2 min
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

if __package__ in (None, ""):  # run as a script: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", type=Path,
                     help="data folder whose cached training-split synthetic rooms (fused with the model's 2D "
                          "encoder) the classifier is fitted on (a recipe's)")
    src.add_argument("--preset", help="or render and fuse the first --rooms training-split rooms with this preset's "
                                      "data settings and the checkpoint's own 2D encoder (a shipped model)")
    p.add_argument("--cache", type=Path, default=None,
                   help="with --preset: keep the fused rooms in this folder (default: a temporary one)")
    p.add_argument("--model", type=Path, required=True, help="checkpoint folder with class presence; rewritten")
    p.add_argument("--rooms", type=int, default=2000, help="at most this many training rooms")
    p.add_argument("--holdout", type=float, default=0.1, help="share of those rooms kept out to report presence")
    p.add_argument("--epochs", type=int, default=6, help="passes over the rooms' columns")
    p.add_argument("--batch", type=int, default=1024, help="columns per step")
    p.add_argument("--keep-columns", action="store_true",
                   help="keep the checkpoint's fitted column classifier and refit only the presence head on its "
                        "statistics (minutes; the column classifier's footprints, which answers measure, stay)")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None, help="also write the JSON report here")
    return p.parse_args(argv)


def column_targets(scene: dict[str, Any], labelled: Any) -> Any:
    """[N, C] targets of a cached synthetic room: 1 where an object of the class covers the column, 0 where none
    does, −1 for classes no footprint labels (``labelled`` [C] False)."""
    import torch

    n, c = scene["xy"].shape[0], labelled.shape[0]
    targets = torch.zeros((n, c))
    for cls, cols in zip(scene["object_classes"].tolist(), scene["object_columns"]):
        targets[cols, cls] = 1.0
    targets[:, ~labelled] = -1.0
    return targets


def presence_scores(logits: Any, labels: Any) -> dict[str, float]:
    """``training.evaluate.presence_scores`` of rooms' presence logits [R, C] against labels [R, C]: AUC over the
    (room, class) pairs with labels ≥ 0, and the share of absent classes found below the presence of the lowest
    0.5 % / 2 % of present ones (what an absent gate at that cost could find)."""
    from training.evaluate import presence_scores as scores

    records = [{"logits": z.tolist(), "labels": y.tolist()} for z, y in zip(logits.detach().float(), labels)]
    at = {cost: scores(records, false_absent=cost) for cost in (0.005, 0.02)}
    return {"auc": round(at[0.005]["auc"], 4),
            **{f"absent_found_at_{cost}": round(s[f"absent_found_at_{100 * cost:g}pct_false_absent"] / 100, 4)
               for cost, s in at.items()}}


def fit(model: Any, rooms: list[dict[str, Any]], args: argparse.Namespace) -> list[float]:
    """Train the model's column classifier on the rooms' columns (shuffled across rooms), then refit its presence
    head on the classifier's statistics; per-epoch column losses."""
    import torch

    from leovl_ros.model.presence import column_class_nll

    net = model.column_classes
    inputs = torch.cat([net.inputs(r) for r in rooms])
    labelled = rooms[0]["present_classes"] >= 0
    targets = torch.cat([column_targets(r, labelled) for r in rooms])
    net.standardise(inputs)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    generator = torch.Generator().manual_seed(args.seed)
    losses = []
    with torch.enable_grad():
        for _ in range(args.epochs):
            order, total = torch.randperm(len(inputs), generator=generator), 0.0
            for i in range(0, len(order), args.batch):
                rows = order[i:i + args.batch]
                loss = column_class_nll(net.classify(inputs[rows]), targets[rows])
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(rows)
            losses.append(round(total / len(inputs), 5))
    fit_presence_head(model, rooms)
    return losses


def fit_presence_head(model: Any, rooms: list[dict[str, Any]]) -> None:
    """Refit the presence head (``ClassPresence.fit``) on the column classifier's statistics of the rooms against
    the classes placed in them."""
    import torch

    from leovl_ros.model.presence import presence_stats

    with torch.no_grad():
        stats = torch.stack([presence_stats(model.class_footprints(r)) for r in rooms])
    model.presence.fit(stats, torch.stack([r["present_classes"] for r in rooms]))


def training_rooms(args: argparse.Namespace, model: Any, tmp: Path) -> dict[str, Any]:
    """The cached training-split rooms of ``--data``, or (``--preset``) the first ``--rooms`` training-split rooms
    rendered and fused into ``--cache`` (or ``tmp``) with the checkpoint's own 2D encoder."""
    from leovl_ros.sim.tasks import scene_id_for
    from training.calibrate_absent import data_config_text
    from training.data import DATA_CONFIG, load_scenes, scene_split_ids
    from training.evaluate import cached_rooms, default_encoder_dir
    from training.prepare import split_seeds

    if args.data is not None:
        ids = sorted(scene_split_ids(args.data, "train"))[: args.rooms]
        return load_scenes(args.data, set(ids))
    cache = args.cache or tmp
    cache.mkdir(parents=True, exist_ok=True)
    (cache / DATA_CONFIG).write_text(data_config_text(None, args.preset))
    ids = {scene_id_for(seed) for seed in split_seeds("train", args.rooms)}
    return cached_rooms(ids, cache, default_encoder_dir(model, args.model))


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    import dataclasses

    import torch

    from leovl_ros.model.checkpoint import load_checkpoint, rebuilt_with, save_in_place
    from training.calibrate_absent import report_line

    t0 = time.time()
    torch.manual_seed(args.seed)
    model = load_checkpoint(args.model)
    if model.presence is None:
        raise SystemExit(f"{args.model}: no class presence (reader.presence): nothing to fit")
    with tempfile.TemporaryDirectory() as tmp:
        scenes = training_rooms(args, model, Path(tmp))
    rooms = [s for _, s in sorted(scenes.items()) if "object_classes" in s]  # training_rooms caps at --rooms
    if len(rooms) < 2:
        raise SystemExit(f"{args.data or args.preset}: {len(rooms)} synthetic training rooms; fitting needs two")
    random.Random(args.seed).shuffle(rooms)
    n_hold = max(1, int(round(args.holdout * len(rooms))))
    held, rooms = rooms[:n_hold], rooms[n_hold:]
    labels = torch.stack([r["present_classes"] for r in held])
    with torch.no_grad():
        before = presence_scores(torch.stack([model.class_presence(r) for r in held]), labels)
    if args.keep_columns:
        if model.column_classes is None:
            raise SystemExit(f"{args.model}: no fitted column classifier to keep (reader.presence_columns is off)")
        fitted, losses = model, []
        fit_presence_head(fitted, rooms)
    else:
        config = dataclasses.replace(model.config,
                                     reader=dataclasses.replace(model.config.reader, presence_columns=True))
        fitted = rebuilt_with(model, config, "column_classes")
        losses = fit(fitted, rooms, args)
    with torch.no_grad():
        after = presence_scores(torch.stack([fitted.class_presence(r) for r in held]), labels)
    save_in_place(fitted, args.model)
    report = {"model": str(args.model), "rooms": len(rooms), "holdout_rooms": len(held),
              "epochs": 0 if args.keep_columns else args.epochs,
              "column_loss": losses, "presence_before": before, "presence_after": after,
              "seconds": round(time.time() - t0, 1)}
    return report_line(report, args.out)


if __name__ == "__main__":
    raise SystemExit(main())
