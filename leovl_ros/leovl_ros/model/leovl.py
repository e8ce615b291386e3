"""LeoVLModel: CFG encoder (+projector) → scene tokens spliced into a causal LM's prompt; training and generation."""

from __future__ import annotations

import contextlib
import copy
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import torch
from torch import nn
from torch.nn import functional as F
from transformers import DynamicCache, PreTrainedTokenizerBase

from leovl_ros.eval.normalize import ABSENT_FORMS, ABSENT_PREFIX
from leovl_ros.model.answer_types import (
    AnswerTrie,
    AnswerTypes,
    excluded_answers,
    keep_allowed,
    types_for_named,
    types_for_words,
)
from leovl_ros.model.config import LeoVLConfig
from leovl_ros.model.llm import build_llm, llm_dim
from leovl_ros.model.measure import (
    COUNTING_TYPES,
    EXISTENCE_TYPE,
    PRESENCE_MIN,
    AskedQuestion,
    Measurement,
    measured_answer,
)
from leovl_ros.model.presence import ClassPresence, ColumnClasses, presence_nll, presence_stats
from leovl_ros.model.prompt import History, PromptIds, answer_ids, build_prompt
from leovl_ros.model.question_copy import QuestionCopy, question_span_copy, word_token_ids
from leovl_ros.model.reader import ReaderOutput, SceneReader, evidence_nll, grounding_nll, pad_rows
from leovl_ros.model.text_encoder import WIDTH as TEXT_WIDTH
from leovl_ros.model.text_encoder import QuestionEncoder
from leovl_ros.sim.scene import CLASSES as OBJECT_CLASSES
from leovl_ros.sim.tasks.qa import absent_answer
from leovl_ros.sim.templates import NO, NUMBER_WORDS, classes_named, named_definitely

warnings.filterwarnings("ignore", message=".*past_key_values.*deprecated", category=FutureWarning)

ZERO = NUMBER_WORDS[0]
"""The absent form of a count (``ABSENT_FORMS``)."""

SCENE_FIELDS = ("features", "heights", "weights", "mask", "xy", "cell_size")
"""ColumnBatch fields the CFG encoder reads."""


def class_presence(prefix: ScenePrefix) -> dict[str, float]:
    """Class → the presence probability of it in the scene of a :class:`ScenePrefix` (empty for a model without
    class presence): the absent gate's, the doubted classes' and the map readers' one source."""
    if prefix.presence is None:
        return {}
    return dict(zip(OBJECT_CLASSES, torch.sigmoid(prefix.presence[: len(OBJECT_CLASSES)].float()).tolist()))


def named_classes(question: str) -> list[int]:
    """Indices (into ``sim.scene.CLASSES``, the first class-presence logits) of the object classes a question names
    by any of their phrasings (``sim.templates.classes_named``: "couch" names the sofa, "bedside table" the
    nightstand)."""
    return [OBJECT_CLASSES.index(name) for name in classes_named(question) if name in OBJECT_CLASSES]


@dataclass
class TrainItem:
    """One supervised sequence: the scene's ColumnBatch fields (None = no scene), prompt ids and answer ids."""

    scene: Optional[Mapping[str, torch.Tensor]]
    prompt: PromptIds
    answer: list[int]
    target: Optional[torch.Tensor] = None
    """Bool [scene tokens]: the columns of the objects the question is about (grounding supervision), or None."""
    head_target: Optional[torch.Tensor] = None
    """Bool [reader heads, scene tokens]: one goal per reader head (head 0 the first asked object, the others the
    rest), or None (all heads: ``target``)."""


@dataclass
class ScenePrefix:
    """KV cache of BOS + system text + scene tokens, computed once per map version and reused per question."""

    cache: DynamicCache
    length: int
    scene_span: tuple[int, int]
    scene: torch.Tensor
    """The scene tokens [N, d] themselves (the scene reader reads them per question)."""
    xy: Optional[torch.Tensor] = None
    """The columns' map positions [N, 2] (the scene reader's geometry measures them)."""
    presence: Optional[torch.Tensor] = None
    """The room's class-presence logits [C] (a model with class presence reads them per question)."""
    class_probs: Optional[torch.Tensor] = None
    """Per column, the 2D encoder's class probabilities [N, C] (``column_class_probs``; None without label anchors):
    which cells an answered object spans (``agent.answering.object_region``)."""
    cell_size: Optional[torch.Tensor] = None
    """The columns' edge lengths [N] (m): which attended cells belong to one object (``model.measure``)."""
    footprints: Optional[torch.Tensor] = None
    """Per column, the column classifier's class-footprint probabilities [N, C] (``class_footprints``; None
    without one): how many objects of a class the map holds (``model.measure``)."""
    colour_probs: Optional[torch.Tensor] = None
    """Per column, the 2D encoder's colour probabilities [N, K] (``column_label_probs``; None without label
    anchors): which of several objects of a class has the colour a question names (``agent.named_object_first``)."""
    last_seen: Optional[torch.Tensor] = None
    """Per column, the sensor time it was last seen [N] (float64 s, NaN unknown; None for a scene without times):
    what the robot saw last (``model.room_questions.measured_latest``)."""
    first_seen: Optional[torch.Tensor] = None
    """Per column, the sensor time it was first seen [N] (as ``last_seen``): what the robot saw first."""


@dataclass
class Generation:
    """A generated answer with its per-token probabilities and attention mass per scene token."""

    text: str
    token_ids: list[int]
    token_probs: list[float]
    scene_attention: torch.Tensor = field(default_factory=lambda: torch.zeros(0))
    absent_gate: str = ""
    """What the calibrated absent gate did: "absent" (the asked class is surely not in the room: the answer had
    to be an absent form), "present" (surely there: "there is no …" was barred) or "" (the model's own answer)."""
    asked_presence: Optional[float] = None
    """With class presence: the room's presence probability of the class the question names (the least present
    one when it names several), else of the class reader head 0 asks about."""
    names_class: bool = False
    """Whether the question names an object class by its name (``named_classes``)."""
    answer_types: list[str] = field(default_factory=list)
    """With answer types: the question types whose answer sets decoding kept to (``model.answer_types``)."""
    model_text: str = ""
    """What the language model said; differs from ``text`` where the map measured the answer instead
    (``model.measure``)."""
    measured_cells: list[int] = field(default_factory=list)
    """The scene tokens of the object the map chose for a measured answer ("the first thing on my left"); empty
    where the answer's grounding is the attention (``model.measure.Measurement``)."""

    @property
    def confidence(self) -> float:
        """Geometric mean of the chosen tokens' probabilities (0 when nothing was generated)."""
        if not self.token_probs:
            return 0.0
        return float(torch.tensor(self.token_probs).clamp_min(1e-12).log().mean().exp())


class LeoVLModel(nn.Module):
    """CFG encoder + projector + causal LM + tokenizer; scene tokens go where the prompt's placeholder is."""

    def __init__(self, config: LeoVLConfig, tokenizer: PreTrainedTokenizerBase, llm: Optional[nn.Module] = None):
        super().__init__()
        from leovl_ros.cfg.condense import CondenseConfig
        from leovl_ros.cfg.encoder import CFGEncoder

        self.config = config
        self.tokenizer = tokenizer
        self.llm = llm if llm is not None else build_llm(config.llm, tokenizer)
        d = llm_dim(self.llm)
        self.cfg_encoder = CFGEncoder(config.cfg_encoder_config(d))
        self.scene_runtime: Optional[Callable[..., torch.Tensor]] = None
        """Inference runtime of the CFG encoder (a deployed ONNX Runtime / TensorRT backend called like it, see
        ``runtime.deploy.deploy_cfg_encoder``); None runs ``cfg_encoder`` in PyTorch. Weights stay in the module."""
        self.reader = SceneReader(d, config.reader.heads, self.llm.get_input_embeddings().weight.detach(),
                                  presence=config.reader.presence)
        classes = self.cfg_encoder.config.anchor_classes
        if config.reader.presence and not classes:
            raise ValueError("reader.presence reads the label-anchor class heads: it needs label anchors")
        self.presence = ClassPresence(classes) if config.reader.presence else None
        bins = CondenseConfig(**config.condense).max_bins
        self.column_classes = (ColumnClasses(self.cfg_encoder.config.feature_dim, classes, bins)
                               if config.reader.presence_columns else None)
        self.question_copy = QuestionCopy(d, self._copy_words()) if config.question_copy else None
        self.question_encoder = QuestionEncoder(d) if config.text_encoder == "minilm" else None
        self.answer_types = AnswerTypes(len(config.answer_sets), TEXT_WIDTH) if config.answer_sets else None
        self.answer_trie = AnswerTrie(config.answer_sets, self.answer_ids) if config.answer_sets else None
        self._absent_form_ids = [self.answer_ids(f)[:-1] for f in ABSENT_FORMS]
        """Token ids of ``ABSENT_FORMS`` (the absent gate forces one of them and bars the first's first token)."""
        if config.scene_norm:
            self.align_scene_scale()
        if self.question_encoder is not None:
            self.question_encoder.align_scale(self._word_rms())

    def _copy_words(self) -> list[list[int]]:
        """Token sequences the question copy may point at (``config.question_copy_words``; empty: any)."""
        if self.config.question_copy_words == "all":
            return []
        from leovl_ros.sim.scene import CLASSES

        return word_token_ids(self.tokenizer, CLASSES)

    def _word_rms(self) -> float:
        """RMS of the LLM's word embeddings (the scale scene and question tokens are normalised to)."""
        return float(self.llm.get_input_embeddings().weight.detach().float().pow(2).mean().sqrt())

    @torch.no_grad()
    def align_scene_scale(self) -> None:
        """Set the scene-token LayerNorm gain to the word embeddings' RMS (scene and text tokens alike in scale)."""
        self.cfg_encoder.out_norm.weight.fill_(self._word_rms())

    def read_scene(self, questions: Sequence[torch.Tensor], scenes: Sequence[torch.Tensor],
                   xy: Sequence[torch.Tensor], poses: Sequence[Optional[tuple[float, float, float]]],
                   presence: Optional[Sequence[torch.Tensor]] = None) -> ReaderOutput:
        """The scene reader over a batch of (question tokens [T_i, d], scene tokens [N_i, d]) pairs, with each
        scene's column positions [N_i, 2], each question's situation pose (x, y, yaw) or None and, for a model with
        class presence, each scene's presence logits [C] (``class_presence``)."""
        text, text_mask = pad_rows(list(questions))
        scene, scene_mask = pad_rows(list(scenes))
        xy_t = pad_rows([x.to(self.device, scene.dtype) for x in xy])[0]
        nan = (float("nan"),) * 3
        pose_t = torch.tensor([p if p is not None else nan for p in poses], device=self.device)
        classes = present = None
        if self.presence is not None:
            if presence is None or any(p is None for p in presence):
                raise ValueError("this model reads class presence: pass each scene's class_presence logits")
            classes = self.cfg_encoder.anchor_table[: self.cfg_encoder.config.anchor_classes]
            present = torch.stack([p.to(self.device) for p in presence])
        return self.reader(text, text_mask, scene, scene_mask, self.llm.get_input_embeddings().weight, xy_t, pose_t,
                           classes, present)

    def class_presence(self, scene: Any, class_probs: Optional[torch.Tensor] = None,
                       footprints: Optional[torch.Tensor] = None) -> Optional[torch.Tensor]:
        """A scene's (ColumnBatch or dict of its fields) class-presence logits [C]; None for a model without. The
        statistics come from the column classifier where the model has one (``reader.presence_columns``;
        ``footprints`` when already computed), else from ``column_class_probs`` (``class_probs`` likewise)."""
        if self.presence is None:
            return None
        if self.column_classes is not None:
            class_probs = footprints if footprints is not None else self.class_footprints(scene)
        elif class_probs is None:
            class_probs = self.column_class_probs(scene)
        return self.presence(presence_stats(class_probs))

    def class_footprints(self, scene: Any) -> Optional[torch.Tensor]:
        """Per column of a scene, the column classifier's probability [N, C] that each class's footprint covers it
        (``presence.ColumnClasses``); None for a model without one."""
        return None if self.column_classes is None else torch.sigmoid(self.column_classes(scene))

    def column_label_probs(self, scene: Any) -> Optional[torch.Tensor]:
        """Per column of a scene (ColumnBatch or dict of its fields), the frozen 2D encoder's class then colour
        probabilities [N, C + K] (``sim.scene.CLASSES``, floor/wall/ceiling/nothing; ``sim.scene.COLOURS``, none);
        None for a model without label anchors."""
        if not self.cfg_encoder.config.anchor_classes:
            return None
        get = scene.get if isinstance(scene, dict) else lambda k: getattr(scene, k)
        return self.cfg_encoder.label_probs(get("features").to(self.device).float(), get("mask").to(self.device))

    def column_class_probs(self, scene: Any) -> Optional[torch.Tensor]:
        """The class part [N, C] of ``column_label_probs``; None for a model without label anchors."""
        probs = self.column_label_probs(scene)
        return None if probs is None else probs[:, : self.cfg_encoder.config.anchor_classes]

    def voxel_class_probs(self, features: torch.Tensor) -> Optional[torch.Tensor]:
        """[V, D] mean features of single voxels → the 2D encoder's class probabilities [V, C] (each voxel read as a
        column of one); None for a model without label anchors."""
        mask = torch.ones(features.shape[0], 1, dtype=torch.bool)
        return self.column_class_probs({"features": features[:, None, :], "mask": mask})

    def question_tokens(self, texts: Sequence[str]) -> list[torch.Tensor]:
        """The question encoder's projected tokens [T_i, d] per question text ([0, d] each without one)."""
        if self.question_encoder is None:
            return [torch.zeros((0, llm_dim(self.llm)), device=self.device) for _ in texts]
        return self.question_encoder(texts)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def encode_scene(self, batch: Any) -> torch.Tensor:
        """ColumnBatch (or any object/dict with its fields) → [N, llm_dim] scene tokens; [0, d] when blind."""
        get = batch.get if isinstance(batch, dict) else lambda k: getattr(batch, k)
        args = [get(k).to(self.device) for k in SCENE_FIELDS]
        if not self.config.use_scene:
            return args[0].new_zeros((0, llm_dim(self.llm)))
        if self.scene_runtime is not None and not torch.is_grad_enabled():
            return self.scene_runtime(*args)
        return self.cfg_encoder(*args)

    def embed(self, ids: Sequence[int]) -> torch.Tensor:
        """Token ids → [n, d] input embeddings."""
        return self.llm.get_input_embeddings()(torch.tensor(list(ids), dtype=torch.long, device=self.device))

    def prompt(
        self, question: str, situation_text: str = "", situation_pose: object = None, history: History | None = None
    ) -> PromptIds:
        """Tokenised prompt of this model's layout."""
        return build_prompt(self.tokenizer, self.config.prompt, question, situation_text, situation_pose, history)

    def answer_ids(self, answer: str) -> list[int]:
        """Target ids for an answer (+EOS)."""
        return answer_ids(self.tokenizer, answer)

    def encode_scenes(self, scenes: Sequence[Mapping[str, torch.Tensor]]) -> list[torch.Tensor]:
        """Several scenes in one CFG-encoder call (columns are independent: pad the bins, concatenate the tokens)."""
        if not scenes:
            return []
        levels = max(int(s["features"].shape[1]) for s in scenes)

        def padded(s: Mapping[str, torch.Tensor], k: str) -> torch.Tensor:
            t = s[k].to(self.device)
            if k in ("features", "heights", "weights", "mask") and t.shape[1] < levels:
                pad = [0, 0] * (t.ndim - 2) + [0, levels - t.shape[1]]
                t = F.pad(t, pad)
            return t

        joint = {k: torch.cat([padded(s, k) for s in scenes], 0) for k in SCENE_FIELDS}
        return list(torch.split(self.encode_scene(joint), [int(s["features"].shape[0]) for s in scenes]))

    def forward(self, items: Sequence[TrainItem], grounding: bool = False, evidence: bool = False,
                presence: bool = False) -> tuple[torch.Tensor, ...]:
        """Per-item sum of answer-token log-probs [B] and answer-token counts [B] (right-padded batch); with
        ``grounding`` also the reader's per-item grounding loss [B] (0 where an item has no target) and which items
        have a target [B]; with ``evidence`` then the reader's per-item ``evidence_nll`` [B] (0 without a scene);
        with ``presence`` last the per-item class-presence loss of its scene [B] against the scene's
        ``present_classes`` labels and which items have labels [B] (a model with class presence).

        The sequence is: prompt up to the scene, scene tokens, the rest of the prompt and the question text, the
        question encoder's tokens (with a text encoder), one evidence token per reader head (with a scene), answer.
        All distinct scenes are encoded in one call inside forward (so DDP sees every trainable parameter); the
        text of all items is embedded in one lookup and the scene, question and evidence tokens are scattered into
        their slots.
        """
        unique: dict[int, int] = {}
        for it in items:
            if it.scene is not None and id(it.scene) not in unique:
                unique[id(it.scene)] = len(unique)
        scene_list = list({id(it.scene): it.scene for it in items if it.scene is not None}.values())
        encoded = self.encode_scenes(scene_list) if self.config.use_scene else []
        presences = [self.class_presence(s) for s in scene_list] if encoded else []
        asked = self.question_tokens([it.prompt.question for it in items])
        n_evidence = self.config.reader.heads
        rows, slots, ids, labels, questions, asked_slots, spans = [], [], [], [], [], [], []
        for i, it in enumerate(items):
            n_scene = int(encoded[unique[id(it.scene)]].shape[0]) if encoded and it.scene is not None else 0
            p = it.prompt
            head = len(p.before_scene)
            n_asked = int(asked[i].shape[0])
            evidence_slots = [0] * n_evidence if n_scene else []
            seq = p.before_scene + [0] * n_scene + p.after_scene + p.query + [0] * n_asked + evidence_slots + it.answer
            ids.append(seq)
            labels.append([-100] * (len(seq) - len(it.answer)) + list(it.answer))
            if n_scene:
                rows.append(encoded[unique[id(it.scene)]])
                slots.append((i, head, n_scene))
            end = len(seq) - len(it.answer) - len(evidence_slots)  # where the evidence tokens start
            if n_asked:
                asked_slots.append((i, end - n_asked, n_asked))
            question = (end - n_asked - len(p.query) + p.question_start, end - n_asked)  # the question's tokens
            if evidence_slots:
                questions.append((i, *question, end))
            spans.append((*question, len(seq) - len(it.answer), len(seq) - 1))  # the copy mixes answer tokens 2..
        t_max = max(len(x) for x in ids)
        pad = self.tokenizer.pad_token_id or 0
        id_t = torch.tensor([x + [pad] * (t_max - len(x)) for x in ids], device=self.device)
        lab_t = torch.tensor([x + [-100] * (t_max - len(x)) for x in labels], device=self.device)
        attn = torch.tensor([[1] * len(x) + [0] * (t_max - len(x)) for x in ids], device=self.device)
        emb = self.llm.get_input_embeddings()(id_t)
        if rows:
            b_idx = torch.cat([torch.full((n,), i, dtype=torch.long) for i, _, n in slots]).to(self.device)
            t_idx = torch.cat([torch.arange(h, h + n) for _, h, n in slots]).to(self.device)
            emb = emb.index_put((b_idx, t_idx), torch.cat(rows, 0).to(emb.dtype))
        if asked_slots:
            b_idx = torch.cat([torch.full((n,), i, dtype=torch.long) for i, _, n in asked_slots]).to(self.device)
            t_idx = torch.cat([torch.arange(h, h + n) for _, h, n in asked_slots]).to(self.device)
            emb = emb.index_put((b_idx, t_idx), torch.cat([asked[i] for i, _, _ in asked_slots], 0).to(emb.dtype))
        read = None
        if questions:  # the reader's question side: the question encoder's tokens, else the question's words
            text = [asked[i] if self.question_encoder is not None else emb[i, s:e] for i, s, e, _ in questions]
            read = self.read_scene(text, rows, [items[i].scene["xy"] for i, _, _, _ in questions],
                                   [items[i].prompt.pose for i, _, _, _ in questions],
                                   [presences[unique[id(items[i].scene)]] for i, _, _, _ in questions])
            b_idx = torch.tensor([i for i, _, _, _ in questions], device=self.device).repeat_interleave(n_evidence)
            t_idx = torch.cat([torch.arange(e, e + n_evidence) for _, _, _, e in questions]).to(self.device)
            emb = emb.index_put((b_idx, t_idx), read.evidence.reshape(-1, emb.shape[-1]).to(emb.dtype))
        with _attention(self.llm, "sdpa"):
            llm_out = self.llm(inputs_embeds=emb, attention_mask=attn, use_cache=False,
                               output_hidden_states=read is not None or self.question_copy is not None)
        logp_all = F.log_softmax(llm_out.logits[:, :-1].float(), -1)
        if self.question_copy is not None:
            logp_all = question_span_copy(self.question_copy, logp_all, llm_out.hidden_states[-1][:, :-1], id_t, spans)
        geometry_logp = None
        if read is not None:  # the position after the last evidence token predicts the first answer token
            b = torch.tensor([i for i, _, _, _ in questions], device=self.device)
            t = torch.tensor([e + n_evidence - 1 for _, _, _, e in questions], device=self.device)
            mixed, geometry_logp = self.reader.copy_mix(logp_all[b, t], llm_out.hidden_states[-1][b, t], read)
            logp_all = logp_all.index_put((b, t), mixed)
        target = lab_t[:, 1:]
        valid = target != -100
        logp = torch.gather(logp_all, 2, target.clamp_min(0).unsqueeze(-1)).squeeze(-1)
        out = (logp * valid).sum(1), valid.sum(1)
        if grounding:
            out += self._grounding_outputs(items, slots, id_t.shape, read)
        if evidence:
            out += (self._evidence_nll(items, questions, read, geometry_logp),)
        if presence:
            out += self._presence_outputs(items, unique, presences)
        return out

    def _presence_outputs(self, items: Sequence[TrainItem], unique: dict[int, int],
                          presences: list) -> tuple[torch.Tensor, torch.Tensor]:
        """(per-item class-presence loss of its scene [B], has-labels [B]); 0 / False where an item has no scene,
        its scene no ``present_classes`` labels, or the model no class presence."""
        nll = torch.zeros(len(items), device=self.device)
        has = torch.zeros(len(items), dtype=torch.bool, device=self.device)
        for i, it in enumerate(items):
            labels = it.scene.get("present_classes") if it.scene is not None else None
            logits = presences[unique[id(it.scene)]] if presences and it.scene is not None else None
            if labels is not None and logits is not None and bool((labels >= 0).any()):
                nll[i] = presence_nll(logits, labels.to(self.device))
                has[i] = True
        return nll, has

    def _evidence_nll(self, items: Sequence[TrainItem], questions: list, read: Optional[ReaderOutput],
                      geometry_logp: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Per item: the reader's soft word and geometry source vs the answer's first token (``evidence_nll``); 0
        without a scene."""
        nll = torch.zeros(len(items), device=self.device)
        if read is None:
            return nll
        rows = [q[0] for q in questions]
        first = torch.tensor([items[i].answer[0] for i in rows], device=self.device)
        nll[rows] = evidence_nll(read.word_logp, first, geometry_logp)
        return nll

    def _grounding_outputs(self, items: Sequence[TrainItem], slots: list, shape: torch.Size,
                           read: Optional[ReaderOutput]) -> tuple:
        """(per-item grounding loss of the reader's column attention [B], has-target [B])."""
        goal = torch.zeros(shape, dtype=torch.bool, device=self.device)
        for i, h, n in slots:
            if items[i].target is not None and items[i].target.shape[0] == n:
                goal[i, h : h + n] = items[i].target.to(self.device)
        has = goal.any(1)
        nll = torch.zeros(len(items), device=self.device)
        if read is None:
            return nll, has
        heads = read.attention.shape[1]

        def per_head(i: int, h: int, n: int) -> torch.Tensor:
            """[n, heads] goal of item i: its per-head target where it has one of this scene's size."""
            own = items[i].head_target
            if own is not None and own.shape == (heads, n) and bool(goal[i].any()):
                return own.T.float().to(self.device)
            return goal[i, h : h + n].float()[:, None].expand(n, heads)

        # the reader's rows follow the slots' order (one per item with a scene)
        scene_goal = pad_rows([per_head(i, h, n) for i, h, n in slots])[0].transpose(1, 2) > 0
        nll[[i for i, _, _ in slots]] = grounding_nll(read.attention, scene_goal)
        return nll * has, has

    def nll(self, items: Sequence[TrainItem]) -> torch.Tensor:
        """Mean per-token negative log-likelihood of the answers (the SFT loss)."""
        logp, n = self(items)
        return -logp.sum() / n.sum().clamp_min(1)

    @torch.no_grad()
    def scene_prefix(self, batch: Any) -> ScenePrefix:
        """Encode a scene (ColumnBatch or dict of its fields) and prefill it: what every question about it reuses."""
        get = batch.get if isinstance(batch, dict) else lambda k: getattr(batch, k)
        labels = self.column_label_probs(batch)
        classes = self.cfg_encoder.config.anchor_classes
        probs = None if labels is None else labels[:, :classes]
        footprints = self.class_footprints(batch)
        prefix = self.prefill(self.encode_scene(batch), xy=get("xy"),
                              presence=self.class_presence(batch, probs, footprints))
        prefix.class_probs, prefix.footprints, prefix.cell_size = probs, footprints, get("cell_size")
        prefix.colour_probs = None if labels is None else labels[:, classes:]
        prefix.last_seen, prefix.first_seen = get("last_seen"), get("first_seen")
        return prefix

    @torch.no_grad()
    def prefill(self, scene: torch.Tensor, xy: Optional[torch.Tensor] = None,
                presence: Optional[torch.Tensor] = None) -> ScenePrefix:
        """Run BOS + system + scene tokens once and keep the KV cache; ``xy`` [N, 2] the columns' map positions
        (needed by a scene reader with geometry), ``presence`` the room's class-presence logits [C] (needed by a
        model with class presence)."""
        p = self.prompt("")
        scene = scene.to(self.device, self.embed([0]).dtype)
        before = self.embed(p.before_scene)
        emb = torch.cat([before, scene, self.embed(p.after_scene)], 0)[None]
        cache = DynamicCache()
        with _attention(self.llm, "sdpa"):
            self.llm(inputs_embeds=emb, past_key_values=cache, use_cache=True)
        start = before.shape[0]
        return ScenePrefix(cache=cache, length=emb.shape[1], scene_span=(start, start + scene.shape[0]), scene=scene,
                           xy=xy, presence=presence)

    @torch.no_grad()
    def generate(
        self,
        prefix: ScenePrefix,
        question: str,
        situation_text: str = "",
        situation_pose: object = None,
        history: History | None = None,
        max_new_tokens: int | None = None,
        temperature: float = 0.0,
        top_k: int = 0,
        generator: torch.Generator | None = None,
    ) -> Generation:
        """Greedy (temperature 0) or sampled answer after a cached scene prefix (which is left unchanged); its
        ``scene_attention`` is the reader heads' mean column attention (the grounding marker; zeros when blind). An
        answer the map can measure (a distance, a size, a direction, a count, a route, the object a relation asks
        for, …: ``model.measure``) is replaced by the measurement; the model's own words stay in ``model_text``."""
        max_new = max_new_tokens or self.config.prompt.max_new_tokens
        prompt = self.prompt(question, situation_text, situation_pose, history)
        s0, s1 = prefix.scene_span
        attention = torch.zeros(s1 - s0)
        ids: list[int] = []
        probs: list[float] = []
        cache = copy.deepcopy(prefix.cache)  # the prefix stays reusable (crop semantics differ across versions)
        query = self.embed(prompt.query)
        asked = self.question_tokens([prompt.question])[0].to(query.dtype)
        text = asked if self.question_encoder is not None else query[prompt.question_start :]
        query = torch.cat([query, asked], 0)
        read = s1 > s0
        if read:
            xy = prefix.xy if prefix.xy is not None else torch.zeros((s1 - s0, 2), device=self.device)
            evidence = self.read_scene([text], [prefix.scene.to(query.dtype)], [xy], [prompt.pose],
                                       [prefix.presence])
            query = torch.cat([query, evidence.evidence[0].to(query.dtype)], 0)
            attention = evidence.attention[0].float().mean(0).cpu()
        copying = self.question_copy is not None
        out = self.llm(inputs_embeds=query[None], past_key_values=cache, use_cache=True,
                       output_hidden_states=read or copying)
        logits = out.logits[0, -1].float()
        if read:  # the first answer token: the LLM's distribution mixed with the reader's words
            logits = self.reader.copy_mix(logits[None], out.hidden_states[-1][:, -1], evidence)[0][0]
        if copying:  # the question tokens the later answer tokens may copy
            span = slice(prompt.question_start, len(prompt.query))
            keys = out.hidden_states[-1][:, span]
            key_ids = torch.tensor([prompt.query[span]], device=self.device)
            key_mask = self.question_copy.copyable(key_ids, torch.ones_like(key_ids, dtype=torch.bool))
            copying = bool(key_mask.any())  # no class name asked: the later tokens are the LLM's own
        named = named_classes(question)
        asked = self._named_class(prefix, named)
        if asked is not None:
            likely: Optional[float] = float(torch.sigmoid(prefix.presence[asked].float()))
        else:  # head 0's match of the question against the class anchors: soft, it leans to present look-alikes
            likely = float(evidence.presence[0, 0]) if read and evidence.presence is not None else None
        situated = bool(situation_text.strip()) or situation_pose is not None
        types = types_for_words(types_for_named(self.likely_answer_types(prompt.question), named), question)
        answers = self.answer_trie.answers(types) if types else None
        presupposed = asked is not None and named_definitely(question, OBJECT_CLASSES[asked])
        gate, forced, barred = self._absent_gate(likely, logits, asked, types, presupposed)
        if barred is not None:
            logits = logits.clone()
            logits[barred] = float("-inf")
        names = [OBJECT_CLASSES[c] for c in named]
        presence = class_presence(prefix)
        doubted = [cls for cls, p in presence.items() if p < PRESENCE_MIN]  # the inventory leaves them out: no
        # answer names them unless the question does
        excluded = excluded_answers(types, names, self.answer_trie.sets, doubted) if types else ()
        allowed = self.answer_trie.allowed(types, excluded) if types else None
        for step in range(max_new):
            if step < len(forced):
                token, prob = forced[step], float(F.softmax(logits, -1)[forced[step]])
            else:
                if allowed is not None:
                    logits = keep_allowed(logits, allowed.get(tuple(ids)))
                token, prob = _pick(logits, temperature, top_k, generator)
            if token == self.tokenizer.eos_token_id:
                break
            ids.append(token)
            probs.append(prob)
            if asked is not None and not forced and ids == self._absent_form_ids[0]:  # "there is no …": the class
                forced = self.answer_ids(absent_answer(OBJECT_CLASSES[asked]))  # the question names, then the end
            out = self.llm(input_ids=torch.tensor([[token]], device=self.device), past_key_values=cache,
                           use_cache=True, output_hidden_states=copying)
            logits = out.logits[0, -1].float()
            if copying:
                logp = F.log_softmax(logits, -1)[None, None]
                logits = self.question_copy(logp, out.hidden_states[-1][:, -1:], keys, key_ids, key_mask)[0, 0]
        model_text = self.tokenizer.decode(ids, skip_special_tokens=True).strip()
        asked_question = AskedQuestion(question, types, prompt.pose, situated, answers, names, gate == "absent",
                                       presence)
        measured = measured_answer(model_text, attention, prefix, asked_question) if read else Measurement(model_text)
        return Generation(text=measured.text, model_text=model_text, token_ids=ids, token_probs=probs,
                          scene_attention=attention, absent_gate=gate, names_class=asked is not None,
                          asked_presence=likely, answer_types=types, measured_cells=measured.cells)

    @torch.no_grad()
    def likely_answer_types(self, question: str) -> list[str]:
        """The question types whose answer sets the answer may come from (``answer_types.TYPE_MIN_P``); empty for a
        model without answer types (decoding unconstrained)."""
        if self.answer_types is None:  # the config ties answer types to the MiniLM question encoder
            return []
        logits = self.answer_types(self.question_encoder.pooled([question]))
        return self.answer_trie.likely_types(torch.softmax(logits.float(), -1)[0].cpu())

    @staticmethod
    def _named_class(prefix: ScenePrefix, named: list[int]) -> Optional[int]:
        """The class the question names (``named``: its ``named_classes``; of several, the least present in the
        room), None when it names none or the model has no class presence."""
        if prefix.presence is None:
            return None
        named = [c for c in named if c < prefix.presence.shape[0]]
        return min(named, key=lambda c: float(prefix.presence[c])) if named else None

    def _absent_gate(self, likely: Optional[float], first: torch.Tensor, asked: Optional[int],
                     types: Sequence[str] = (), presupposed: bool = False) -> tuple[str, list[int], Optional[int]]:
        """The calibrated absent gate (``reader.absent_below`` / ``absent_above``) on the asked class's presence
        probability ``likely``: (what it did, tokens to force, first token to bar). An absent form is forced only
        when the question names a class (``asked``; head 0 settles on some class even for "what is the smallest
        thing?"), asked at a pose or not. Each form answers its own question types (``types``, the likely answer
        types): "zero" a count, "no" an existence question unless it takes the object as given (``presupposed``: "is
        the sofa on the stool?" reads as existence too, and "no" would say the sofa stands elsewhere), "there is no"
        completed with the named class any other — also where no trained answer says so ("how far is the toilet from
        the bed?", "is the sofa next to the bed?", "how do I get to the sofa?"): a distance, a yes or a route to an
        object the room holds none of would be invented. Of the forms the types allow, the one whose first token the
        model rates highest (``first``, the first token's scores); without answer types, of all three."""
        r = self.config.reader
        if likely is None or (r.absent_below <= 0.0 and r.absent_above >= 1.0):
            return "", [], None
        if likely < r.absent_below and asked is not None:
            absent = absent_answer(OBJECT_CLASSES[asked])
            forms = [(absent if form == ABSENT_PREFIX else form, ids)
                     for form, ids in zip(ABSENT_FORMS, self._absent_form_ids)]
            if types:
                answered = {NO: EXISTENCE_TYPE in types and not presupposed,
                            ZERO: any(t in COUNTING_TYPES for t in types),
                            absent: any(t not in (EXISTENCE_TYPE, *COUNTING_TYPES) for t in types)}
                forms = [f for f in forms if answered[f[0]]] or forms[:1]
            text, ids = max(forms, key=lambda f: float(first[f[1][0]]))
            return "absent", self.answer_ids(text) if text == absent else ids, None  # "there is no …": then the end
        if likely > r.absent_above:  # "there" starts no other answer
            return "present", [], self._absent_form_ids[0][0]
        return "", [], None

    def parameter_count(self) -> dict[str, int]:
        """Parameters of the CFG encoder, the LLM and trainable ones."""
        return {
            "cfg_encoder": sum(p.numel() for p in self.cfg_encoder.parameters()),
            "llm": sum(p.numel() for p in self.llm.parameters()),
            "trainable": sum(p.numel() for p in self.parameters() if p.requires_grad),
        }


@contextlib.contextmanager
def _attention(llm: nn.Module, implementation: str) -> Iterator[None]:
    """Run the LLM with another attention kernel: SDPA (faster) in training and scene prefill; eager stays the
    default for generation's per-question steps (as the shipped model was measured)."""
    cfg = llm.config
    old = cfg._attn_implementation
    cfg._attn_implementation = implementation
    try:
        yield
    finally:
        cfg._attn_implementation = old


def _pick(logits: torch.Tensor, temperature: float, top_k: int, generator: torch.Generator | None) -> tuple[int, float]:
    """Next token (greedy or temperature/top-k sampling) and its probability."""
    probs = F.softmax(logits, -1)
    if temperature <= 0:
        token = int(probs.argmax())
        return token, float(probs[token])
    scaled = logits / temperature
    if top_k > 0:
        kth = torch.topk(scaled, min(top_k, scaled.numel())).values[-1]
        scaled = scaled.masked_fill(scaled < kth, float("-inf"))
    token = int(torch.multinomial(F.softmax(scaled, -1).cpu(), 1, generator=generator))
    return token, float(probs[token])


def load_model(path: str | Path | None = None, device: str | torch.device = "cpu") -> LeoVLModel:
    """Load a checkpoint folder (default: the shipped model, ``paths.default_model_dir()``) in eval mode."""
    from leovl_ros.agent.paths import default_model_dir
    from leovl_ros.model.checkpoint import load_checkpoint

    return load_checkpoint(path if path is not None else default_model_dir(), device=device)
