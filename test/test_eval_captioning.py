"""Captioning metrics on hand-checked captions: identical → perfect, disjoint → zero, partial in between."""

from __future__ import annotations

import logging

import pytest

from leovl_ros.eval import captioning
from leovl_ros.eval.captioning import caption_scores, java_available, simple_tokenize

REFS = {
    "a": ["a red chair next to the table", "A red chair, by the table."],
    "b": ["the sofa is blue and large"],
    "c": ["a lamp stands on the desk"],
    "d": ["two pillows lie on the bed"],
}
IDENTICAL = {k: v[0] for k, v in REFS.items()}
DISJOINT = {"a": "xyz qqq", "b": "mmm nnn", "c": "ooo ppp", "d": "rrr sss"}


def test_simple_tokenizer() -> None:
    """Lowercase words, punctuation dropped, contractions kept together."""
    assert simple_tokenize("A red chair, by the TV's stand!") == "a red chair by the tv's stand"


def test_identical_and_disjoint_simple_tokenizer() -> None:
    """Identical captions: BLEU-4 = 1 (raw scale), ROUGE-L = 1, CIDEr high; disjoint: all zero."""
    same = caption_scores(IDENTICAL, REFS, tokenizer="simple", meteor=False, scale=1.0)
    assert same["bleu4"] == pytest.approx(1.0, abs=1e-6)
    assert same["rouge_l"] == pytest.approx(1.0)
    assert same["cider"] > 5.0
    assert same["tokenizer"] == "simple" and same["meteor"] is None and same["n"] == 4
    other = caption_scores(DISJOINT, REFS, tokenizer="simple", meteor=False, scale=1.0)
    assert other["bleu4"] < 1e-6 and other["rouge_l"] == 0.0 and other["cider"] == 0.0


def test_partial_overlap_and_scale() -> None:
    """A caption sharing some words scores strictly between the extremes; scale=100 multiplies every score."""
    partial = dict(IDENTICAL, a="a red chair near a sofa")
    raw = caption_scores(partial, REFS, tokenizer="simple", meteor=False, scale=1.0)
    same = caption_scores(IDENTICAL, REFS, tokenizer="simple", meteor=False, scale=1.0)
    assert 0.0 < raw["cider"] < same["cider"]
    assert 0.0 < raw["rouge_l"] < 1.0
    pct = caption_scores(partial, REFS, tokenizer="simple", meteor=False)
    assert pct["cider"] == pytest.approx(100 * raw["cider"])
    assert pct["bleu4"] == pytest.approx(100 * raw["bleu4"])


def test_bad_inputs() -> None:
    """No predictions, predictions without references and unknown tokenizers are errors."""
    with pytest.raises(ValueError):
        caption_scores({}, REFS)
    with pytest.raises(ValueError):
        caption_scores({"zzz": "a chair"}, REFS, tokenizer="simple", meteor=False)
    with pytest.raises(ValueError):
        caption_scores(IDENTICAL, REFS, tokenizer="nltk", meteor=False)


def test_without_java_falls_back(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """With no java on PATH: simple tokenizer, METEOR None with a logged reason."""
    monkeypatch.setenv("PATH", "/nonexistent")
    assert not java_available()
    with caplog.at_level(logging.WARNING, logger=captioning.__name__):
        result = caption_scores(IDENTICAL, REFS)
    assert result["tokenizer"] == "simple"
    assert result["meteor"] is None and "java" in result["meteor_note"]
    assert any("METEOR" in rec.message for rec in caplog.records)
    assert result["bleu4"] == pytest.approx(100.0, abs=1e-4)


@pytest.mark.slow
@pytest.mark.skipif(not java_available(), reason="java not installed: PTBTokenizer and METEOR need it")
def test_java_ptb_and_meteor() -> None:
    """With Java: PTB tokenizer and METEOR (identical → 1, disjoint → 0), same BLEU as the simple tokenizer here."""
    same = caption_scores(IDENTICAL, REFS, tokenizer="ptb", scale=1.0)
    assert same["tokenizer"] == "ptb"
    assert same["meteor"] == pytest.approx(1.0)
    assert same["bleu4"] == pytest.approx(1.0, abs=1e-6)
    other = caption_scores(DISJOINT, REFS, tokenizer="ptb", scale=1.0)
    assert other["meteor"] == pytest.approx(0.0) and other["cider"] == 0.0
