"""Learning objectives of the paper (Eq. 7/10 L_full, Eq. 11 L_diff) and the Eq. 12 recovery.

L_full: the network outputs both binaural channels, trained with L1 against them.
L_diff: the network outputs one channel d, trained with L1 against L - R; with the
mono input defined as s_m = L + R, the channels follow as L = (s_m + d) / 2 and
R = (s_m - d) / 2 (Eq. 12; the same recovery is Eq. 13 of Mono2Binaural).
The L1 "norm" is the mean absolute error over all samples and channels, as in
the reference code (torch's L1Loss), so its scale does not depend on the clip length.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from points2sound.errors import ParameterError


def _check_binaural(name: str, x: torch.Tensor) -> None:
    if x.dim() != 3 or x.shape[1] != 2:
        raise ParameterError(name, f"expected (B, 2, T), got {tuple(x.shape)}")


def loss_full(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L_full: mean absolute error over both channels of (B, 2, T) waveforms."""
    _check_binaural("pred", pred)
    _check_binaural("target", target)
    return F.l1_loss(pred, target)


def difference_target(binaural: torch.Tensor) -> torch.Tensor:
    """The L_diff target L - R, shaped (B, 1, T), from a (B, 2, T) binaural signal."""
    _check_binaural("binaural", binaural)
    return binaural[:, :1] - binaural[:, 1:]


def mono_sum(binaural: torch.Tensor) -> torch.Tensor:
    """The mono input s_m = L + R that L_diff (and Mono2Binaural) assume, shaped (B, 1, T)."""
    _check_binaural("binaural", binaural)
    return binaural[:, :1] + binaural[:, 1:]


def loss_diff(pred_diff: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L_diff: mean absolute error between the predicted d (B, 1, T) and L - R of target (B, 2, T)."""
    if pred_diff.dim() != 3 or pred_diff.shape[1] != 1:
        raise ParameterError("pred_diff", f"expected (B, 1, T), got {tuple(pred_diff.shape)}")
    return F.l1_loss(pred_diff, difference_target(target))


def recover_from_difference(mono: torch.Tensor, diff: torch.Tensor) -> torch.Tensor:
    """Eq. 12: binaural (B, 2, T) from s_m = L + R (B, 1, T) and d = L - R (B, 1, T)."""
    if mono.shape != diff.shape or mono.dim() != 3 or mono.shape[1] != 1:
        raise ParameterError(
            "mono/diff", f"expected two (B, 1, T) tensors, got {tuple(mono.shape)} and {tuple(diff.shape)}"
        )
    return torch.cat([(mono + diff) / 2, (mono - diff) / 2], dim=1)
