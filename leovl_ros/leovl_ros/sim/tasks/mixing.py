"""Ordering and balancing of candidate samples: shuffles, yes/no alternation, round-robin over sub-kinds, yes/no cap.
"""

from __future__ import annotations

import numpy as np

from leovl_ros.sim import templates as T
from leovl_ros.sim.tasks.sample import Sample


def shuffled(items: list, rng: np.random.Generator) -> list:
    """A new list with ``items`` in random order."""
    return [items[i] for i in rng.permutation(len(items))]


def interleave(a: list, b: list) -> list:
    """a0, b0, a1, b1, … then the rest (keeps yes and no balanced in any prefix)."""
    out = []
    for i in range(max(len(a), len(b))):
        out.extend(x[i] for x in (a, b) if i < len(x))
    return out


def mix(groups: dict[str, list[Sample]], rng: np.random.Generator) -> list[Sample]:
    """Round-robin over the groups in random order, so any prefix mixes the sub-kinds.

    Each group is shuffled; a group of yes/no questions alternates yes and no instead.
    """
    lists = [_yes_no_group(g, rng) if g and all(s.is_yes_no for s in g) else shuffled(g, rng)
             for g in (groups[k] for k in shuffled(sorted(groups), rng))]
    out: list[Sample] = []
    for i in range(max((len(v) for v in lists), default=0)):
        out.extend(v[i] for v in lists if i < len(v))
    return out


def _yes_no_group(samples: list[Sample], rng: np.random.Generator) -> list[Sample]:
    """Yes/no samples alternating yes and no (random start), so a prefix is balanced."""
    yes = shuffled([s for s in samples if s.answers[0] == T.YES], rng)
    no = shuffled([s for s in samples if s.answers[0] == T.NO], rng)
    return interleave(yes, no) if rng.random() < 0.5 else interleave(no, yes)


def cap_yes_no(samples: list[Sample], max_share: float) -> list[Sample]:
    """Drop yes/no samples (latest first) until their share among question samples is at most ``max_share``."""
    questions = [s for s in samples if s.task in ("qa", "situated_qa", "dialogue")]
    n_yn = sum(s.is_yes_no for s in questions)
    n = len(questions)
    drop: set[int] = set()
    for s in reversed(samples):
        if n == 0 or n_yn <= max_share * n:
            break
        if s.task in ("qa", "situated_qa", "dialogue") and s.is_yes_no:
            drop.add(id(s))
            n_yn -= 1
            n -= 1
    return [s for s in samples if id(s) not in drop]
