"""QuestionCopy: a pointer over the question's tokens for every answer token after the first.

"What colour is the sofa?" in a room without a sofa has the answer "there is no sofa". The shipped tiny LLM (4
layers, trained from scratch) decides "there is no" often enough, but its fourth token names the class it says most
("there is no tv"), not the asked one: it does not learn to copy a question word that late in the answer from the
few such examples. A pointer-generator (See et al., 2017) gives it that copy: at each answer position a learned
attention from the LLM's last hidden state over the question tokens' hidden states forms a copy distribution over
their ids, and a gate mixes it with the LLM's own distribution. The first answer token already has the scene
reader's pointer mix (``SceneReader.copy_mix``); this one covers the rest. The gate starts half open: trained from
scratch, the LLM memorises the answer words it is shown faster than a nearly closed gate opens (a gate started at
sigmoid(−4) stayed there in test/test_question_copy.py's setting), and then never names a class it was not shown.

The pointer may point at class names only (``LeoVLConfig.question_copy_words``, default): copying any question word
let "there is no is no is no" and "there is no can" (of "can you see…") out of the shipped model; the
class names are matched as whole token sequences, so "trash can" is copyable and a lone "can" is not.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import nn
from transformers import PreTrainedTokenizerBase

GATE_BIAS = 0.0
"""Initial gate logit: half copy, half LLM (see the module docstring)."""


class QuestionCopy(nn.Module):
    """p(token) = (1 − g)·p_LLM + g·Σ_{j: id_j = token} softmax_j(q(h)·k(h_j)/√d), g = sigmoid(w·h + b); h the hidden
    state at the answer position, h_j those of the question tokens (ids id_j)."""

    def __init__(self, dim: int, words: Sequence[Sequence[int]] = ()):
        super().__init__()
        by_length: dict[int, list[list[int]]] = {}
        for w in words:
            if len(w):
                by_length.setdefault(len(w), []).append(list(w))
        self.words = {n: torch.tensor(ws) for n, ws in sorted(by_length.items())}
        """Token-id sequences the pointer may point at (:func:`word_token_ids`), [words, n] per length n; empty:
        every question token."""
        self.query = nn.Linear(dim, dim, bias=False)
        self.key = nn.Linear(dim, dim, bias=False)
        self.gate = nn.Linear(dim, 1)
        with torch.no_grad():
            nn.init.zeros_(self.gate.weight)
            self.gate.bias.fill_(GATE_BIAS)

    def copyable(self, key_ids: torch.Tensor, key_mask: torch.Tensor) -> torch.Tensor:
        """The question tokens [B, S] (bool) the pointer may point at: those of ``key_mask`` inside a whole
        occurrence of one of ``words`` (all of them when ``words`` is empty). Callers pass it as ``forward``'s
        mask, computed once per question."""
        if not self.words:
            return key_mask
        hit = torch.zeros_like(key_mask)
        for n, words in self.words.items():
            if n > key_ids.shape[1]:
                continue
            windows = key_ids.unfold(1, n, 1)  # [B, S-n+1, n]
            start = (windows[:, :, None] == words.to(key_ids.device)).all(-1).any(-1)  # a word starts here
            for j in range(n):
                hit[:, j : j + start.shape[1]] |= start
        return hit & key_mask

    def forward(self, logp: torch.Tensor, hidden: torch.Tensor, keys: torch.Tensor, key_ids: torch.Tensor,
                key_mask: torch.Tensor) -> torch.Tensor:
        """Mixed log-probabilities [B, T, V] from the LLM's log-probabilities logp [B, T, V] and hidden states
        hidden [B, T, d] at T answer positions, and the question tokens' hidden states keys [B, S, d], ids key_ids
        [B, S] (long) and mask key_mask [B, S] of the tokens it may point at (:meth:`copyable`). Rows without one
        keep the LLM's distribution."""
        has = key_mask.any(1)
        if not bool(has.any()):
            return logp
        key_mask = key_mask | ~has[:, None]  # no all-masked row: no NaN anywhere (those rows are not mixed)
        dtype = logp.dtype
        h, k = hidden.to(self.query.weight.dtype), keys.to(self.key.weight.dtype)
        scores = torch.einsum("btd,bsd->bts", self.query(h), self.key(k)) * h.shape[-1] ** -0.5
        attn = scores.float().masked_fill(~key_mask[:, None], float("-inf")).softmax(-1).nan_to_num(0.0)
        copy = torch.zeros_like(logp, dtype=torch.float32).scatter_add_(
            2, key_ids[:, None].expand(-1, logp.shape[1], -1), attn)
        g = torch.sigmoid(self.gate(h).float())
        mixed = torch.logaddexp(torch.log1p(-g) + logp.float(), torch.log(g) + copy.clamp_min(1e-12).log())
        return torch.where(has[:, None, None], mixed.to(dtype), logp)


def word_token_ids(tokenizer: PreTrainedTokenizerBase, words: Iterable[str]) -> list[list[int]]:
    """Each word's token ids as it can stand in a question (after a space or first, lower case or capitalised),
    without repeats."""
    seqs: set[tuple[int, ...]] = set()
    for word in words:
        for form in {word, word.capitalize()}:
            for text in (form, " " + form):
                seqs.add(tuple(tokenizer(text, add_special_tokens=False)["input_ids"]))
    return [list(s) for s in sorted(seqs) if s]


def question_span_copy(copy: QuestionCopy, logp: torch.Tensor, hidden: torch.Tensor, ids: torch.Tensor,
                       spans: list[tuple[int, int, int, int]]) -> torch.Tensor:
    """Apply ``copy`` to a padded batch at its answer positions only: logp [B, T, V] (position t predicts token
    t+1), hidden [B, T, d], ids [B, T+1] the input ids, spans per row (question start, question end, first and
    one-past-last position to mix). Other positions, and rows without a copyable question token, keep the LLM's
    distribution; the copy runs on the few answer positions, not on the whole padded sequence. Returns [B, T, V]."""
    rows = [r for r, (s, e, m, n) in enumerate(spans) if e > s and n > m]
    if not rows:
        return logp
    dev, last = logp.device, logp.shape[1] - 1

    def window(starts: list[int], ends: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Positions [R, W] from each start (clamped to the sequence) and which of them lie before its end."""
        width = max(e - s for s, e in zip(starts, ends))
        pos = torch.arange(width, device=dev)
        start = torch.tensor(starts, device=dev)[:, None]
        return (start + pos).clamp_max(last), pos < torch.tensor(ends, device=dev)[:, None] - start

    picked = [spans[r] for r in rows]
    q_pos, q_mask = window([s for s, _, _, _ in picked], [e for _, e, _, _ in picked])
    a_pos, a_mask = window([m for _, _, m, _ in picked], [n for _, _, _, n in picked])
    r = torch.tensor(rows, device=dev)[:, None]
    key_ids = ids[r, q_pos]
    mixed = copy(logp[r, a_pos], hidden[r, a_pos], hidden[r, q_pos], key_ids, copy.copyable(key_ids, q_mask))
    return logp.index_put((r.expand_as(a_pos)[a_mask], a_pos[a_mask]), mixed[a_mask])
