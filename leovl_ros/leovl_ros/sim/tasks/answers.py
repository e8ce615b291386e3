"""The closed answer set of every question type, and the committed file that exports it.

``python -m leovl_ros.sim.tasks.answers`` rewrites ``leovl_ros/sim/answer_sets.json``; a test checks the file is
current. Answers use canonical words only (class and colour names, number words, 'yes'/'no', directions,
'there is no <class>' for questions about a class not in the room, 'X.Y meters' for distances).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from leovl_ros.sim import spatial
from leovl_ros.sim import templates as T
from leovl_ros.sim.furnish import CLASS_SPECS, SceneConfig
from leovl_ros.sim.scene import CLASSES, COLOURS
from leovl_ros.sim.tasks.qa import absent_answer
from leovl_ros.sim.tasks.sample import QA_TYPES, SITUATED_TYPES

ANSWER_SETS_PATH = Path(__file__).resolve().parent.parent / "answer_sets.json"
"""The committed export of :func:`answer_sets`."""


def answer_sets(scene_config: SceneConfig | None = None) -> dict[str, list[str]]:
    """Question type (plain and situated QA) → every answer the generators can give, sorted."""
    cfg = scene_config or SceneConfig()
    classes = sorted(CLASSES)
    absent = sorted(absent_answer(c) for c in CLASSES)
    counts = [T.count_word(n) for n in range(max(s.max_count for s in CLASS_SPECS.values()) + 1)]
    diagonal = math.hypot(cfg.side_range[1], cfg.side_range[1])
    distances = [T.metres(0.5 * k) for k in range(1, int(diagonal / 0.5) + 1)]
    yes_no = [T.YES, T.NO]
    sets = {
        "existence": yes_no,
        "counting": counts,
        "colour": sorted(COLOURS) + absent,
        "class": classes,
        "size": classes + yes_no,
        "spatial_relation": classes + ["left", "right"] + yes_no + absent,
        "distance": distances,
        "nearest": classes,
        "farthest": classes,
        "last_seen": classes + absent,
        "situated_direction": sorted(spatial.SECTORS),
        "situated_object": classes,
        "situated_counting": counts,
    }
    assert set(sets) == set(QA_TYPES) | set(SITUATED_TYPES)
    return {k: sorted(set(v)) for k, v in sets.items()}


def answer_sets_json() -> str:
    """The file's exact text."""
    return json.dumps(answer_sets(), indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Rewrite the committed answer-set file (``--check``: exit 1 if it is stale instead)."""
    argv = sys.argv[1:] if argv is None else argv
    text = answer_sets_json()
    if "--check" in argv:
        ok = ANSWER_SETS_PATH.is_file() and ANSWER_SETS_PATH.read_text() == text
        print(f"{ANSWER_SETS_PATH}: {'current' if ok else 'stale'}")
        return 0 if ok else 1
    ANSWER_SETS_PATH.write_text(text)
    print(f"wrote {ANSWER_SETS_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
