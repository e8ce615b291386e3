"""Captioning metrics (CIDEr, BLEU-4, METEOR, ROUGE-L) with ``pycocoevalcap``, the field's standard scorers.

The COCO tool chain tokenises with Stanford's PTBTokenizer and scores METEOR with the METEOR 1.5 jar, both of which
need Java. Without a ``java`` executable (or when the PTB tokenizer fails) captions are tokenised with a simple
lowercase word tokenizer instead, and METEOR is reported as ``None`` with the reason logged and returned.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import re
import shutil
import subprocess
import tempfile
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

LOG = logging.getLogger(__name__)

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def simple_tokenize(text: str) -> str:
    """Lowercase words and numbers joined by single spaces (punctuation dropped): the no-Java tokenizer."""
    return " ".join(_WORD.findall(text.lower()))


def java_available() -> bool:
    """Whether a ``java`` executable is on PATH (needed by PTBTokenizer and METEOR)."""
    return shutil.which("java") is not None


def _ptb_tokenize(captions: dict[Hashable, list[str]]) -> dict[Hashable, list[str]]:
    """Tokenise with the Stanford PTBTokenizer shipped in pycocoevalcap, as its ``PTBTokenizer`` does.

    Called directly (not through the wrapper) so the temporary input file goes to a temporary folder instead of
    the installed package folder (read-only on many installs) and Java's progress line does not reach stderr.
    """
    from pycocoevalcap.tokenizer import ptbtokenizer

    jar = Path(ptbtokenizer.__file__).with_name(ptbtokenizer.STANFORD_CORENLP_3_4_1_JAR)
    keys = [key for key, caps in captions.items() for _ in caps]
    lines = [c.replace("\n", " ") for caps in captions.values() for c in caps]
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "captions.txt"
        source.write_text("\n".join(lines), encoding="utf-8")
        cmd = ["java", "-cp", str(jar), "edu.stanford.nlp.process.PTBTokenizer", "-preserveLines", "-lowerCase"]
        done = subprocess.run(cmd + [str(source)], capture_output=True, check=False, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"PTBTokenizer exited with {done.returncode}: {done.stderr.decode(errors='replace')[-300:]}")
    out_lines = done.stdout.decode("utf-8").split("\n")
    if len(out_lines) < len(lines):
        raise RuntimeError(f"PTBTokenizer returned {len(out_lines)} lines for {len(lines)} captions")
    tokenized: dict[Hashable, list[str]] = {key: [] for key in captions}
    for key, line in zip(keys, out_lines):
        words = [w for w in line.rstrip().split(" ") if w not in ptbtokenizer.PUNCTUATIONS]
        tokenized[key].append(" ".join(words))
    return tokenized


def _tokenize(
    preds: dict[Hashable, list[str]], refs: dict[Hashable, list[str]], tokenizer: str
) -> tuple[dict[Hashable, list[str]], dict[Hashable, list[str]], str]:
    """Tokenise predictions and references with the requested tokenizer; returns the one actually used."""
    if tokenizer not in ("auto", "ptb", "simple"):
        raise ValueError(f"tokenizer must be 'auto', 'ptb' or 'simple' (got {tokenizer!r})")
    if tokenizer == "ptb" or (tokenizer == "auto" and java_available()):
        try:
            return _ptb_tokenize(preds), _ptb_tokenize(refs), "ptb"
        except (OSError, ValueError, RuntimeError) as exc:
            if tokenizer == "ptb":
                raise
            LOG.warning("PTBTokenizer failed (%s); using the simple tokenizer", exc)
    elif tokenizer == "auto":
        LOG.warning("java not found: captions tokenised with the simple tokenizer (scores differ slightly from PTB)")
    simple = {key: [simple_tokenize(c) for c in caps] for key, caps in preds.items()}
    simple_refs = {key: [simple_tokenize(c) for c in caps] for key, caps in refs.items()}
    return simple, simple_refs, "simple"


@functools.lru_cache(maxsize=1)
def _meteor_scorer() -> Any:
    """One METEOR process per interpreter (the JVM loads a paraphrase table: ~5–20 s to start)."""
    from pycocoevalcap.meteor.meteor import Meteor

    return Meteor()


def _meteor(refs: dict[Hashable, list[str]], preds: dict[Hashable, list[str]]) -> tuple[float | None, str]:
    """METEOR via the jar, or (None, reason) when Java is missing or the jar fails."""
    if not java_available():
        return None, "java not found on PATH: METEOR needs Java"
    try:
        score, _ = _meteor_scorer().compute_score(refs, preds)
        return float(score), ""
    except (OSError, ValueError, RuntimeError) as exc:
        _meteor_scorer.cache_clear()
        return None, f"METEOR failed: {exc}"


def caption_scores(
    preds: Mapping[Hashable, str],
    refs: Mapping[Hashable, Sequence[str]],
    tokenizer: str = "auto",
    scale: float = 100.0,
    meteor: bool = True,
) -> dict[str, Any]:
    """Corpus CIDEr, BLEU-4, METEOR and ROUGE-L of one caption per id against all its references.

    ``scale`` multiplies every score (100 = the papers' tables, e.g. CIDEr 77.3; 1 = pycocoevalcap's raw values).
    ``tokenizer``: "auto" (PTB when Java is there), "ptb" or "simple"; ``meteor=False`` skips METEOR (slow start).
    CIDEr's document frequencies come from the evaluated references, so score a whole split, not single captions.
    Returns ``cider, bleu4, meteor (None without Java), rouge_l, n, tokenizer`` and ``meteor_note`` when METEOR
    is missing.
    """
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    if not preds:
        raise ValueError("caption_scores needs at least one prediction")
    missing = [key for key in preds if not refs.get(key)]
    if missing:
        raise ValueError(f"{len(missing)} predictions have no reference captions (e.g. {missing[0]!r})")
    keys = list(preds)
    pred_lists = {i: [preds[k]] for i, k in enumerate(keys)}
    ref_lists = {i: list(refs[k]) for i, k in enumerate(keys)}
    tok_preds, tok_refs, used = _tokenize(pred_lists, ref_lists, tokenizer)
    with contextlib.redirect_stdout(io.StringIO()):
        bleu, _ = Bleu(4).compute_score(tok_refs, tok_preds, verbose=0)
        cider, _ = Cider().compute_score(tok_refs, tok_preds)
        rouge, _ = Rouge().compute_score(tok_refs, tok_preds)
    meteor_score, reason = _meteor(tok_refs, tok_preds) if meteor else (None, "METEOR not requested")
    result: dict[str, Any] = {
        "cider": float(cider) * scale,
        "bleu4": float(bleu[3]) * scale,
        "meteor": None if meteor_score is None else meteor_score * scale,
        "rouge_l": float(rouge) * scale,
        "n": len(keys),
        "tokenizer": used,
    }
    if meteor_score is None:
        if meteor:
            LOG.warning("METEOR not computed: %s", reason)
        result["meteor_note"] = reason
    return result
