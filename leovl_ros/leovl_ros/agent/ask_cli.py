"""``leovl-ask --map FILE "question"``: the dialogue node's answer path on a saved map, without ROS.

Loads the map (``VoxelStore.from_file``) and the model, answers with the same ``Answerer`` the dialogue node uses
(same checks, same empty-map reply), and prints the answer with latency and token counts and when the answer's
object was last seen (its grounded cells' sensor time, and how long before the map's newest frame) and, where it
differs, what the ``~/answer`` topic would say ("I last saw the bed 25 min ago, at …": the "ago" on this machine's
clock), or one JSON object with ``--json``. Several questions in one call share the scene prefix (the KV cache of
the map) and, with ``--session``, the dialogue history. Exit code 1 when any question was rejected, 2 on a bad map
or model.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from datetime import datetime, timezone
from typing import Optional

from leovl_ros.agent.answering import (
    Answerer,
    AnswererConfig,
    ModelNotFoundError,
    load_agent,
    situation_pose_matrix,
)
from leovl_ros.agent.map_handle import MapHandle
from leovl_ros.agent.spoken import EPOCH_MIN_S, spoken_answer


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="leovl-ask", description=__doc__.split("\n\n")[0].replace("``", ""),
        epilog='example: leovl-ask --map demo_out/map.safetensors "how many chairs are in the room?"')
    parser.add_argument("questions", nargs="+", metavar="QUESTION", help="question(s), answered in order")
    parser.add_argument("--map", required=True, help="saved map (fusion node ~/save_map, or leovl-demo's map)")
    parser.add_argument("--model", default="", help="checkpoint folder (default: the shipped models/default)")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    parser.add_argument("--session", default="", help="session id: questions share a dialogue history")
    parser.add_argument("--situation", default="", help='situation text, e.g. "I am sitting on the bed"')
    parser.add_argument("--pose", type=float, nargs=7, metavar=("X", "Y", "Z", "QX", "QY", "QZ", "QW"),
                        help="situation pose in the map frame (position + quaternion, x forward)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per question")
    parser.add_argument("--no-scope-check", action="store_true",
                        help="answer every question, also those in no word the model knows or about objects outside "
                             "its classes (rejected by default; the dialogue node's check_scope)")
    return parser


def describe_last_seen(last_seen: Optional[float], newest: Optional[float], answer: str = "") -> str:
    """'last seen at t = … s (UTC date), N s before the map's newest frame', or why there is no time (an ``answer``
    saying the asked class is not there, or "no" / "zero", has none by design)."""
    from leovl_ros.eval.normalize import points_at_no_object, says_absent

    if last_seen is None and says_absent(answer):
        return "last seen: never (the answer says the room has none)"
    if last_seen is None and points_at_no_object(answer):
        return f"last seen: none (the answer {answer!r} points at no object)"
    if last_seen is None:
        return "last seen: unknown (no grounded cell has a time; maps saved before maps kept times have none)"
    text = f"last seen at t = {last_seen:.3f} s"
    if last_seen >= EPOCH_MIN_S:
        text += f" ({datetime.fromtimestamp(last_seen, timezone.utc).isoformat(timespec='milliseconds')})"
    if newest is not None:
        text += f", {newest - last_seen:.2f} s before the map's newest frame"
    return text


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point of ``leovl-ask``."""
    args = build_parser().parse_args(argv)
    from leovl_ros.cfg.voxel_store import VoxelStore

    t0 = time.perf_counter()
    try:
        store = VoxelStore.from_file(args.map)
        agent = load_agent(args.model, args.device)
    except (ValueError, ModelNotFoundError) as exc:
        print(f"leovl-ask: error: {exc}", file=sys.stderr)
        return 2
    load_ms = (time.perf_counter() - t0) * 1e3
    answerer = Answerer(agent, MapHandle(store), AnswererConfig(check_scope=not args.no_scope_check))
    newest = store.newest_stamp()
    pose = situation_pose_matrix(args.pose[:3], args.pose[3:]) if args.pose else None
    failed = False
    for question in args.questions:
        reply = answerer.ask(question, args.session, args.situation, pose)
        failed |= not reply.success
        spoken = spoken_answer(reply, time.time(), question)
        if args.json:
            ago = None if reply.last_seen is None or newest is None else round(newest - reply.last_seen, 6)
            print(json.dumps({"question": question, **dataclasses.asdict(reply), "spoken": spoken,
                              "map_voxels": len(store),
                              "load_ms": round(load_ms, 1), "map_newest_stamp": newest, "last_seen_ago_s": ago}))
        else:
            print(f"Q: {question}")
            print(f"A: {reply.answer}" if reply.answer else f"rejected: {reply.error}")
            if not reply.success:
                continue
            if reply.read_as:
                print(f"   asked as {reply.read_as!r}")
            if spoken != reply.answer:
                print(f"   on ~/answer: {spoken!r}")
            if reply.model_answer:
                print(f"   measured on the map (the language model said {reply.model_answer!r})")
            print(f"   {reply.latency_ms:.0f} ms, {reply.scene_tokens} scene + {reply.prompt_tokens} question tokens, "
                  f"{reply.answer_tokens} generated, confidence {reply.confidence:.2f}, "
                  f"{len(reply.cell_ids)} grounded cells (map {len(store)} voxels, loaded in {load_ms:.0f} ms)")
            print(f"   {describe_last_seen(reply.last_seen, newest, reply.answer)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
