"""The trainable systems: a vision network conditioning an audio network.

`Points2SoundNet` is the paper's model (sparse ResNet18 -> h (K = 16) -> conditioned
Demucs), trained with L_full (binaural out) or L_diff (L - R out, Eq. 12 recovery).
`Mono2BinauralNet` is the appendix baseline (sparse ResNet18 with a 512-wide head ->
complex-mask U-Net on the STFT). Both expose the same three calls, so the training
loop and the evaluation never branch on the model kind:

    loss(mono, scene, binaural)   the training objective of a batch (= objective(forward(...)))
    binauralize(mono, scene)      (B, 2, T) binaural estimate for whole clips
    l1(mono, scene, binaural)     L1 of the binaural estimate (comparable across kinds)

Shapes: mono (B, 1, T); binaural (B, 2, T); scene: a sparse tensor of B scenes.
Sizes come from a plain dict (the `model` section of the parameters) so that a
checkpoint can rebuild its network from the config it stores.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from points2sound.errors import ParameterError
from points2sound.model_kinds import MODEL_KINDS as KINDS
from points2sound.models.demucs import ConditionedDemucs
from points2sound.models.mono2binaural import Mono2Binaural
from points2sound.models.objectives import loss_diff, loss_full, recover_from_difference
from points2sound.models.vision import SparseResNet18
from points2sound.settings.train import MODEL_LOSSES, SEPARATION_TRANSFERS

MODEL_KINDS = tuple(MODEL_LOSSES)
LOSSES = MODEL_LOSSES
DEMUCS_KINDS = tuple(k.name for k in KINDS.values() if k.demucs)  # audio net: the conditioned Demucs


def build_vision(cfg: Mapping[str, Any], out_channels: int, seed: int) -> nn.Module:
    """The vision net of a vision config with a K-wide head: the sparse ResNet18 of `model.vision`, or with
    `net: panorama2d` (settings.train.vision_sizes) torchvision's ResNet18 on the scene's panorama."""
    if cfg.get("net") == "panorama2d":  # a sparse 3D config names no net
        from points2sound.vision2d.network import build_panorama_net  # imports torchvision

        return build_panorama_net(cfg, out_channels, seed)
    return SparseResNet18(
        in_channels=3,
        out_channels=out_channels,
        planes=tuple(cfg["planes"]),
        layers=tuple(cfg["layers"]),
        stem_kernel=int(cfg["stem_kernel"]),
        backend=cfg["backend"],
        seed=seed,
    )


def build_demucs(cfg: Mapping[str, Any], out_channels: int, cond_dim: int, seed: int) -> ConditionedDemucs:
    """The conditioned Demucs of the `model.demucs` section, mono in, `out_channels` out."""
    return ConditionedDemucs(
        in_channels=1,
        out_channels=out_channels,
        channels=int(cfg["channels"]),
        depth=int(cfg["depth"]),
        kernel_size=int(cfg["kernel_size"]),
        stride=int(cfg["stride"]),
        growth=float(cfg["growth"]),
        context=int(cfg["context"]),
        lstm_layers=int(cfg["lstm_layers"]),
        cond_dim=cond_dim,
        rescale=cfg["rescale"],
        normalize=bool(cfg["normalize"]),
        condition_output=bool(cfg["condition_output"]),
        init_std=cfg["init_std"],
        seed=seed,
    )


class Points2SoundNet(nn.Module):
    """Sparse ResNet18 + conditioned Demucs (paper Sec. 3.2).

    Args:
        vision: the `model.vision` section (planes, layers, out_channels = K).
        demucs: the `model.demucs` section (channels, depth, kernel_size, stride, growth,
            context, lstm_layers, rescale, condition_output, init_std).
        loss: 'full' (2 output channels, L1 on both) or 'diff' (1 channel, L1 on L - R;
            needs s_m = L + R as input).
        seed: seeds both networks' initial weights.
    """

    kind = "points2sound"

    def __init__(
        self,
        vision: Mapping[str, Any],
        demucs: Mapping[str, Any],
        loss: str = "full",
        seed: int = 0,
        copy_gain: float = 0.5,
    ):
        super().__init__()
        if loss not in LOSSES[self.kind]:
            raise ParameterError("loss", f"Points2Sound trains with one of {LOSSES[self.kind]}, got {loss!r}")
        self.loss_kind = loss
        # residual: the L_full output is added to the mono input copied to both ears (times copy_gain), so
        # training starts from the Mono-Mono estimate, as L_diff does by construction; off in the paper
        self.residual = bool(demucs["residual"]) and loss == "full"
        self.copy_gain = float(copy_gain)
        k = int(vision["out_channels"])
        self.vision = build_vision(vision, k, seed)
        self.audio = build_demucs(demucs, 2 if loss == "full" else 1, k, seed)

    def forward(self, mono: torch.Tensor, scene: Any) -> torch.Tensor:
        """The raw network output: (B, 2, T) for L_full, (B, 1, T) = L - R for L_diff."""
        return self.output_from_audio(mono, self.audio(mono, self.vision(scene)))

    def output_from_audio(self, mono: torch.Tensor, audio_out: torch.Tensor) -> torch.Tensor:
        """forward's output from the Demucs output: plus the mono copy when the model has the residual path."""
        return audio_out + self.copy_gain * mono if self.residual else audio_out

    def binaural_from_audio(self, mono: torch.Tensor, audio_out: torch.Tensor) -> torch.Tensor:
        """binauralize's (B, 2, T) from the Demucs output (other inference engines produce that output)."""
        out = self.output_from_audio(mono, audio_out)
        return out if self.loss_kind == "full" else recover_from_difference(mono, out)

    def objective(self, out: torch.Tensor, mono: torch.Tensor, binaural: torch.Tensor) -> torch.Tensor:
        """The training loss of a forward output (kept apart from forward so DDP wraps forward alone)."""
        return loss_full(out, binaural) if self.loss_kind == "full" else loss_diff(out, binaural)

    def loss(self, mono: torch.Tensor, scene: Any, binaural: torch.Tensor) -> torch.Tensor:
        return self.objective(self(mono, scene), mono, binaural)

    def binauralize(self, mono: torch.Tensor, scene: Any) -> torch.Tensor:
        """(B, 2, T) for whole clips: Demucs is fully convolutional, so the clip goes through in one pass."""
        return self.binaural_from_audio(mono, self.audio(mono, self.vision(scene)))

    def l1(self, mono: torch.Tensor, scene: Any, binaural: torch.Tensor) -> torch.Tensor:
        return F.l1_loss(self.binauralize(mono, scene), binaural)


class Points2SoundFOANet(nn.Module):
    """Sparse ResNet18 + conditioned Demucs predicting a first-order sound field (Morgado et al.).

    The mono input is the omni channel W (the true mono mixture); the Demucs writes the three
    first-order channels in ambiX order (Y, Z, X), trained with L1 against the encoded scene. No
    residual copy path: W is not an estimate of any first-order channel, so the net starts from the
    omnidirectional field (Y = Z = X = 0), the FOA counterpart of copying the mono input to both ears.

    `blind` is Morgado's U-Net baseline (Table 1): the same audio net conditioned on a zero feature, so
    only the sound tells it where sources are (the vision net is kept, frozen and unused, for the shared
    data path).

    Shapes: mono (B, 1, T); scene: a sparse tensor of B scenes; target and forward (B, 3, T);
    `field` (B, 4, T) = (W, Y, Z, X).
    """

    kind = "points2sound_foa"
    loss_kind = "full"

    def __init__(self, vision: Mapping[str, Any], demucs: Mapping[str, Any], seed: int = 0, blind: bool = False):
        super().__init__()
        self.k = int(vision["out_channels"])
        self.blind = bool(blind)
        self.vision = build_vision(vision, self.k, seed)
        self.audio = build_demucs(demucs, 3, self.k, seed)
        if self.blind:
            self.vision.requires_grad_(False)

    def condition(self, mono: torch.Tensor, scene: Any) -> torch.Tensor:
        """The visual feature h (B, K): the vision net's, or zeros for the blind baseline."""
        return mono.new_zeros(mono.shape[0], self.k) if self.blind else self.vision(scene)

    def forward(self, mono: torch.Tensor, scene: Any) -> torch.Tensor:
        """(B, 3, T) first-order channels Y, Z, X."""
        return self.audio(mono, self.condition(mono, scene))

    def objective(self, out: torch.Tensor, mono: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.l1_loss(out, target)

    def loss(self, mono: torch.Tensor, scene: Any, target: torch.Tensor) -> torch.Tensor:
        return self.objective(self(mono, scene), mono, target)

    def field(self, mono: torch.Tensor, scene: Any) -> torch.Tensor:
        """(B, 4, T) ambiX field of whole clips: W is the input itself."""
        return torch.cat([mono, self(mono, scene)], dim=1)

    def l1(self, mono: torch.Tensor, scene: Any, target: torch.Tensor) -> torch.Tensor:
        return F.l1_loss(self(mono, scene), target)


class Mono2BinauralNet(nn.Module):
    """Sparse ResNet18 (512-wide head) + the Mono2Binaural U-Net (paper appendix).

    Args:
        vision: the `model.vision` section (its out_channels is replaced by cond_dim).
        m2b: the `model.mono2binaural` section (channels, cond_dim, clip_s, hop_s).
        sample_rate: fixes the STFT sizes and the sliding window in samples.
    """

    kind = "mono2binaural"
    loss_kind = "mse"

    def __init__(self, vision: Mapping[str, Any], m2b: Mapping[str, Any], sample_rate: int, seed: int = 0):
        super().__init__()
        cond = int(m2b["cond_dim"])
        self.vision = build_vision(vision, cond, seed)
        self.audio = Mono2Binaural(
            sample_rate, cond_dim=cond, channels=tuple(m2b["channels"]), init_std=m2b["init_std"], seed=seed
        )
        self.clip_samples = max(1, round(float(m2b["clip_s"]) * sample_rate))
        self.hop_samples = max(1, round(float(m2b["hop_s"]) * sample_rate))

    def forward(self, mono: torch.Tensor, scene: Any) -> torch.Tensor:
        """The predicted L - R spectrogram (B, 2, F, frames)."""
        return self.audio(mono, self.vision(scene))

    def objective(self, out: torch.Tensor, mono: torch.Tensor, binaural: torch.Tensor) -> torch.Tensor:
        """MSE between the predicted and true L - R spectrograms."""
        return self.audio.loss(out, binaural)

    def loss(self, mono: torch.Tensor, scene: Any, binaural: torch.Tensor) -> torch.Tensor:
        return self.objective(self(mono, scene), mono, binaural)

    def binauralize(self, mono: torch.Tensor, scene: Any) -> torch.Tensor:
        """(B, 2, T): the sliding window of the appendix over clips longer than the training clip."""
        h = self.vision(scene)
        if mono.shape[-1] <= self.clip_samples:
            return recover_from_difference(mono, self.audio.predict_difference(mono, h))
        return self.audio.binauralize(mono, h, self.clip_samples, self.hop_samples)

    def l1(self, mono: torch.Tensor, scene: Any, binaural: torch.Tensor) -> torch.Tensor:
        h = self.vision(scene)
        est = recover_from_difference(mono, self.audio.predict_difference(mono, h))
        return F.l1_loss(est, binaural)


class SeparationNet(nn.Module):
    """Sparse ResNet18 (K-wide head) + conditioned Demucs, mono mixture in, one source out.

    The audio pre-training (README, "Audio pre-training by separation"; mix-and-separate, as LAVSS pre-trains on MUSIC): the
    condition is the feature of one performer's point cloud, the target that performer's
    mono signal. Same sizes as Points2SoundNet, so its weights initialize one
    (`init_from_separation`). No residual copy path: the mixture is not an estimate of a source.

    Shapes: mixture (B, 1, T); scene: a sparse tensor of B single-performer clouds; out (B, 1, T).
    """

    kind = "separation"

    def __init__(self, vision: Mapping[str, Any], demucs: Mapping[str, Any], seed: int = 0):
        super().__init__()
        k = int(vision["out_channels"])
        self.vision = build_vision(vision, k, seed)
        self.audio = build_demucs(demucs, 1, k, seed)

    def forward(self, mixture: torch.Tensor, scene: Any) -> torch.Tensor:
        return self.audio(mixture, self.vision(scene))

    def objective(self, out: torch.Tensor, mixture: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.l1_loss(out, target)


def init_from_separation(system: Points2SoundNet, separation_state: Mapping[str, torch.Tensor], rule: str) -> list[str]:
    """Copy a SeparationNet's weights into a Points2SoundNet; returns the names that were widened.

    Every transferred tensor must match in shape, except the output layer of an L_full model (2 channels
    against the separation's 1): that channel is copied to both ears, so the binaural model
    starts out predicting the separated source in each ear. `rule` (`variants.<name>.transfer`, one of
    SEPARATION_TRANSFERS) names the weights that keep their fresh init instead.
    """
    if rule not in SEPARATION_TRANSFERS:
        raise ParameterError("variants.<name>.transfer", f"must be one of {sorted(SEPARATION_TRANSFERS)}, got {rule!r}")
    last = len(system.audio.decoder) - 1
    fresh = tuple(prefix.format(last=last) for prefix in SEPARATION_TRANSFERS[rule])
    own = system.state_dict()
    missing = sorted(set(own) - set(separation_state))
    if missing:
        raise ParameterError(
            "separation checkpoint", f"lacks {missing[:5]}{' ...' if len(missing) > 5 else ''} (another model size?)"
        )
    widened, state = [], {}
    for name, target in own.items():
        if fresh and name.startswith(fresh):
            state[name] = target.clone()
            continue
        state[name] = _transferred(name, separation_state[name], target, widened)
    system.load_state_dict(state)
    return widened


def _transferred(name: str, source: torch.Tensor, target: torch.Tensor, widened: list[str]) -> torch.Tensor:
    """`source` in `target`'s shape: equal, or a 1-wide audio dimension copied to both ears (noted in `widened`)."""
    if source.shape != target.shape:
        diff = (
            [d for d in range(source.dim()) if source.shape[d] != target.shape[d]]
            if source.dim() == target.dim()
            else []
        )
        if len(diff) != 1 or source.shape[diff[0]] != 1 or not name.startswith("audio."):
            raise ParameterError(
                "separation checkpoint",
                f"{name} has shape {tuple(source.shape)}, the model {tuple(target.shape)} (another model size?)",
            )
        source = source.expand_as(target)
        widened.append(name)
    return source.clone()


def build_system(
    kind: str,
    model: Mapping[str, Any],
    loss: str,
    sample_rate: int,
    seed: int = 0,
    mono_input: str = "sum_lr",
    vision: bool = True,
) -> nn.Module:
    """The network of a training variant from the `model` section of the parameters."""
    if kind == "points2sound":
        return Points2SoundNet(
            model["vision"], model["demucs"], loss=loss, seed=seed, copy_gain=0.5 if mono_input == "sum_lr" else 1.0
        )
    if kind == "mono2binaural":
        if loss != "mse":
            raise ParameterError("loss", f"Mono2Binaural trains with 'mse', got {loss!r}")
        return Mono2BinauralNet(model["vision"], model["mono2binaural"], sample_rate, seed=seed)
    if kind == "points2sound_foa":
        if loss != "full":
            raise ParameterError("loss", f"the FOA model trains with 'full' (L1 on Y, Z, X), got {loss!r}")
        return Points2SoundFOANet(model["vision"], model["demucs"], seed=seed, blind=not vision)
    raise ParameterError("model", f"must be one of {MODEL_KINDS}, got {kind!r}")
