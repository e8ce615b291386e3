"""``leovl-ask "question"``: ask the running agent over ROS 2, or (``--map FILE``) a saved map without ROS.

Without ``--map`` each question goes to the dialogue node's ``~/ask`` service (``ros.ask_client``; ``--service`` names
another); with it the map is loaded (``VoxelStore.from_file``) with the model and answered by the same ``Answerer``
the dialogue node uses (same checks, same empty-map reply). Prints the answer with latency and token counts and
when the answer's object was last seen (its grounded cells' sensor time, and how long before the map's newest
frame) and, where it differs, what the ``~/answer`` topic would say ("I last saw the bed 25 min ago, at …": the
"ago" on this machine's clock), or one JSON object with ``--json``. With no question on the command line the
questions are read from standard input, one a line (a prompt when it is a terminal; "quit" or Ctrl-D ends).
Questions of one call share the dialogue history of ``--session`` ("where is it?" after "is there a lamp?") and,
on a map, the scene prefix (the KV cache of the map). Exit code 1 when any question was rejected, 2 on a bad map or
model or no service.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any, Optional

from leovl_ros.agent.answering import (
    Answerer,
    AnswererConfig,
    ModelNotFoundError,
    Reply,
    load_agent,
    situation_pose_matrix,
)
from leovl_ros.agent.map_handle import MapHandle
from leovl_ros.agent.spoken import EPOCH_MIN_S, spoken_answer

QUIT_WORDS = frozenset({"quit", "exit", "q", ":q"})
"""Lines that end reading questions from standard input."""

MAP_ONLY_OPTIONS = ("model", "device", "no_scope_check")
"""Options that only apply with ``--map``: on a running agent its node parameters decide."""


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="leovl-ask", description=__doc__.split("\n\n")[0].replace("``", ""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='examples:\n'
               '  leovl-ask "how many chairs are there?"            # the running agent (leovl-agent --demo)\n'
               '  leovl-ask                                         # type questions, one a line\n'
               '  leovl-ask --map demo_out/map.safetensors "where is the bed?" "how tall is it?"')
    parser.add_argument("questions", nargs="*", metavar="QUESTION",
                        help="question(s), answered in order (none: read them from standard input)")
    parser.add_argument("--map", default="", help="a saved map to answer from without ROS (fusion node ~/save_map, "
                                                  "or leovl-demo's demo_out/map.safetensors); default: ask the agent")
    parser.add_argument("--service", default="", help="without --map: the Ask service (default /dialogue/ask)")
    parser.add_argument("--wait", type=float, default=10.0, help="without --map: seconds to wait for the service")
    parser.add_argument("--timeout", type=float, default=60.0, help="without --map: seconds to wait for each answer")
    parser.add_argument("--model", default="", help="with --map: checkpoint folder (default: the shipped "
                                                    "models/default)")
    parser.add_argument("--device", default="cpu", help="with --map: torch device, e.g. cpu or cuda")
    parser.add_argument("--session", default="", help="session id: questions share a dialogue history")
    parser.add_argument("--situation", default="", help='situation text, e.g. "I am sitting on the bed"')
    parser.add_argument("--pose", type=float, nargs=7, metavar=("X", "Y", "Z", "QX", "QY", "QZ", "QW"),
                        help="situation pose in the map frame (position + quaternion, x forward)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per question")
    parser.add_argument("--no-scope-check", action="store_true",
                        help="with --map: answer every question, also those in no word the model knows or about "
                             "objects outside its classes (rejected by default; the dialogue node's check_scope)")
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


def typed_questions(lines: Any = None, prompt: Optional[bool] = None) -> Iterator[str]:
    """Questions read from ``lines`` (standard input by default), one a line, blank lines skipped, until the end or
    a quit word; with a "? " prompt where the input is a terminal."""
    lines = sys.stdin if lines is None else lines
    prompt = lines.isatty() if prompt is None and hasattr(lines, "isatty") else bool(prompt)
    if prompt:
        print('leovl-ask: type a question and Enter; "quit" or Ctrl-D ends', file=sys.stderr)
    while True:
        if prompt:
            print("? ", end="", file=sys.stderr, flush=True)
        line = lines.readline()
        if not line or line.strip().lower() in QUIT_WORDS:
            return
        if line.strip():
            yield line.strip()


def print_reply(question: str, reply: Reply, as_json: bool, map_info: dict[str, Any]) -> None:
    """One answer as ``leovl-ask`` shows it; ``map_info`` holds what is known of the map (``map_voxels``,
    ``load_ms``, ``map_newest_stamp`` with ``--map``; nothing from a running agent)."""
    newest = map_info.get("map_newest_stamp")
    spoken = reply.spoken or spoken_answer(reply, time.time(), question)  # a live agent's, on its clock
    if as_json:
        ago = None if reply.last_seen is None or newest is None else round(newest - reply.last_seen, 6)
        print(json.dumps({"question": question, **dataclasses.asdict(reply), "spoken": spoken, **map_info,
                          "last_seen_ago_s": ago}), flush=True)
        return
    print(f"Q: {question}")
    print(f"A: {reply.answer}" if reply.answer else f"rejected: {reply.error}")
    if reply.success:
        if reply.read_as:
            print(f"   asked as {reply.read_as!r}")
        if reply.situation_placed is not None:
            x, y, yaw = reply.situation_placed
            print(f"   the situation placed you at x {x:.2f} m, y {y:.2f} m, facing {math.degrees(yaw):.0f}° "
                  f"(map frame)")
        if spoken != reply.answer:
            print(f"   on ~/answer: {spoken!r}")
        if reply.model_answer:
            print(f"   measured on the map (the language model said {reply.model_answer!r})")
        tokens = f"{reply.scene_tokens} scene tokens"
        if reply.prompt_tokens or reply.answer_tokens:
            tokens = (f"{reply.scene_tokens} scene + {reply.prompt_tokens} question tokens, {reply.answer_tokens} "
                      f"generated")
        where = (f" (map {map_info['map_voxels']} voxels, loaded in {map_info['load_ms']:.0f} ms)"
                 if "map_voxels" in map_info else "")
        print(f"   {reply.latency_ms:.0f} ms, {tokens}, confidence {reply.confidence:.2f}, "
              f"{len(reply.cell_ids)} grounded cells{where}")
        print(f"   {describe_last_seen(reply.last_seen, newest, reply.answer)}")
    sys.stdout.flush()


def answer_all(questions: Iterator[str], ask: Callable[[str], Reply], as_json: bool,
               map_info: Callable[[], dict[str, Any]]) -> bool:
    """Ask and print each question in turn; True when all were answered."""
    ok = True
    for question in questions:
        reply = ask(question)
        ok &= reply.success
        print_reply(question, reply, as_json, map_info())
    return ok


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point of ``leovl-ask``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    questions = iter(args.questions) if args.questions else typed_questions()
    pose = tuple(args.pose) if args.pose else None
    if not args.map:
        defaults = parser.parse_args([])
        given = [f"--{name.replace('_', '-')}" for name in MAP_ONLY_OPTIONS
                 if getattr(args, name) != getattr(defaults, name)]
        if given:
            parser.error(f"{', '.join(given)}: only with --map (a running agent answers with its own node "
                         f"parameters)")
        return ask_agent(args, questions, pose)
    if args.service:
        parser.error("--service asks a running agent: leave out --map")
    from leovl_ros.cfg.voxel_store import VoxelStore

    t0 = time.perf_counter()
    try:
        store = VoxelStore.from_file(args.map)
        agent = load_agent(args.model, args.device)
    except (ValueError, ModelNotFoundError) as exc:
        print(f"leovl-ask: error: {exc}", file=sys.stderr)
        return 2
    load_ms = round((time.perf_counter() - t0) * 1e3, 1)
    answerer = Answerer(agent, MapHandle(store), AnswererConfig(check_scope=not args.no_scope_check))
    matrix = situation_pose_matrix(pose[:3], pose[3:]) if pose else None
    info = {"map_voxels": len(store), "load_ms": load_ms, "map_newest_stamp": store.newest_stamp()}
    ok = answer_all(questions, lambda q: answerer.ask(q, args.session, args.situation, matrix), args.json,
                    lambda: info)
    return 0 if ok else 1


def ask_agent(args: argparse.Namespace, questions: Iterator[str], pose: Optional[tuple[float, ...]]) -> int:
    """The questions to the running dialogue node's Ask service; 2 when it is not there."""
    from leovl_ros.ros.ask_client import DEFAULT_SERVICE, LiveAsker, ServiceUnavailable

    try:
        with LiveAsker(args.service or DEFAULT_SERVICE, args.wait, args.timeout) as asker:
            ok = answer_all(questions, lambda q: asker.ask(q, args.session, args.situation, pose), args.json, dict)
    except ServiceUnavailable as exc:
        print(f"leovl-ask: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
