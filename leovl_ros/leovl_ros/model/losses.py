"""Training losses on answer log-likelihoods: SceneDPO (answer contrast + scene contrast + NLL)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional as F


@dataclass
class SceneDPOTerms:
    """Summed log-probs of the answers under the policy and the frozen reference."""

    chosen: torch.Tensor
    """log π(correct answer | true scene) [B]."""
    wrong_answer: torch.Tensor
    """log π(wrong answer | true scene) [B]."""
    wrong_scene: torch.Tensor
    """log π(correct answer | another scene) [B]."""


def dpo(policy_win: torch.Tensor, policy_lose: torch.Tensor, ref_win: torch.Tensor, ref_lose: torch.Tensor,
        beta: float) -> torch.Tensor:
    """Per-pair DPO loss −log σ(β[(π_w − ref_w) − (π_l − ref_l)])."""
    return -F.logsigmoid(beta * ((policy_win - ref_win) - (policy_lose - ref_lose)))


def scene_dpo_loss(policy: SceneDPOTerms, reference: SceneDPOTerms, chosen_tokens: torch.Tensor, beta: float,
                   w_a: float, w_s: float) -> dict[str, torch.Tensor]:
    """L = w_a·L_a + w_s·L_s + L_NLL (LEO-VL's SceneDPO); returns the total and each term (batch means)."""
    l_a = dpo(policy.chosen, policy.wrong_answer, reference.chosen, reference.wrong_answer, beta).mean()
    l_s = dpo(policy.chosen, policy.wrong_scene, reference.chosen, reference.wrong_scene, beta).mean()
    l_nll = -(policy.chosen.sum() / chosen_tokens.sum().clamp_min(1))
    return {"loss": w_a * l_a + w_s * l_s + l_nll, "l_a": l_a, "l_s": l_s, "l_nll": l_nll}
