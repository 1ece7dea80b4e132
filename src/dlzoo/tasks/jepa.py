"""JEPA: predict the target encoder's embeddings of hidden patches from the visible ones
(Assran et al. 2023, I-JEPA), lesson 6.

Per batch (:func:`~dlzoo.tasks.jepa_masks.block_mask` draws one seeded mask):

1. the **target encoder** embeds every patch of the image, without gradients; the
   embeddings of the target patches, layer-normed, are the targets;
2. the **context encoder** (the task's ``net``, a
   :class:`~dlzoo.models.jepa.JEPAEncoder`) embeds the context patches only;
3. the **predictor** (:class:`~dlzoo.models.jepa.JEPAPredictor`) predicts the
   targets from the context embeddings and the target patches' positions;
4. the loss is the Huber (smooth L1) or mean squared distance between the two.

Only the context encoder and the predictor are optimised. After every optimizer step
the target encoder follows the context encoder as an exponential moving average,

.. math::
    \\theta_{target} \\leftarrow m\\, \\theta_{target} + (1 - m)\\, \\theta_{context},

with the momentum ``m`` ramped linearly from ``momentum`` to ``momentum_end`` over
training (I-JEPA: 0.996 to 1). The target moves slowly and gets no gradient: the
encoders cannot agree on a constant embedding by moving the targets towards the
predictions, the trivial solution a shared, trained target would fall into (BYOL,
Grill et al. 2020).

The representation (:meth:`JEPATask.embed`, read by the linear probe, k-means and
``dlzoo-predict``) is the mean-pooled output of the target encoder, as I-JEPA
evaluates it: the average of many recent context encoders, it is the smoother one.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim import Optimizer

from dlzoo.data.base import STAGES
from dlzoo.errors import ConfigError
from dlzoo.losses import get_loss
from dlzoo.models.jepa import JEPAEncoder, JEPAPredictor
from dlzoo.tasks.base import Task
from dlzoo.tasks.jepa_masks import PatchMask, block_mask, check_mask_options

JEPA_LOSSES = ("huber", "mse", "mae")
# numbers the stages in the masks' seeds


@torch.no_grad()
def ema_update(target: nn.Module, online: nn.Module, momentum: float) -> None:
    """``target <- momentum * target + (1 - momentum) * online``, parameter by
    parameter; buffers are copied (a running statistic has no average to follow).

    Args:
        target: the moving average, updated in place.
        online: the trained net of the same architecture.
        momentum: the share of the old target that stays, in [0, 1].
    """
    for kept, new in zip(target.parameters(), online.parameters(), strict=True):
        kept.lerp_(new, 1.0 - momentum)  # kept + (1 - m) (new - kept)
    for kept, new in zip(target.buffers(), online.buffers(), strict=True):
        kept.copy_(new)


def momentum_at(step: int, total_steps: float, start: float, end: float) -> float:
    """The momentum of update ``step`` (0 is the first): linear from ``start`` to
    ``end`` over ``total_steps`` updates, ``start`` throughout when the length of
    training is unknown (``total_steps`` infinite or below 1)."""
    if not math.isfinite(total_steps) or total_steps < 1:
        return start
    return start + (end - start) * min(1.0, step / total_steps)


def _check_encoder(net: nn.Module) -> JEPAEncoder:
    if not isinstance(net, JEPAEncoder):
        raise ConfigError(
            f"task=jepa trains a patch encoder: use model=jepa, got {type(net).__name__}"
        )
    return net


def _check_momentum(start: float, end: float) -> None:
    if not 0.0 <= start <= end <= 1.0:
        raise ConfigError(
            f"task.momentum={start} and task.momentum_end={end} must satisfy "
            "0 <= momentum <= momentum_end <= 1 (e.g. 0.996 and 1.0)"
        )


class JEPATask(Task):
    """Train a :class:`~dlzoo.models.jepa.JEPAEncoder` as an I-JEPA (module docstring).

    Args:
        net: the context encoder, a :class:`~dlzoo.models.jepa.JEPAEncoder`.
        optimizer: a partial that takes parameter groups; it gets the context
            encoder's and the predictor's parameters, never the target encoder's.
        scheduler: a scheduler config dict or ``None``.
        predictor_width: width of the predictor's tokens (narrower than the encoder).
        predictor_heads: the predictor's attention heads; must divide its width.
        predictor_layers: the predictor's transformer blocks.
        target_blocks: target blocks per mask.
        target_scale: ``[low, high]`` share of the patches one target block covers.
        target_aspect: ``[low, high]`` height / width of a target block.
        momentum: the moving average's momentum at the first step.
        momentum_end: its momentum at the last step (linear in between).
        loss: ``huber`` (smooth L1, as I-JEPA), ``mse`` or ``mae``.
        mask_seed: seeds the masks: the same seed draws the same masks per epoch and
            batch; validation and test draw the same masks every epoch.

    Raises:
        ConfigError: ``net`` is not a patch encoder, or a bad masking, momentum or
            loss option.

    Shapes:
        batch: ``(x, *rest)`` with x (B, C, H, W); labels, if any, are ignored.
        :meth:`embed` and :meth:`infer`: x (B, C, H, W) -> (B, d_model).
    """

    def __init__(
        self,
        net: nn.Module,
        optimizer: Callable[..., Optimizer],
        scheduler: dict[str, Any] | None = None,
        predictor_width: int = 32,
        predictor_heads: int = 4,
        predictor_layers: int = 2,
        target_blocks: int = 4,
        target_scale: Sequence[float] = (0.15, 0.2),
        target_aspect: Sequence[float] = (0.75, 1.5),
        momentum: float = 0.996,
        momentum_end: float = 1.0,
        loss: str = "huber",
        mask_seed: int = 0,
    ) -> None:
        super().__init__(net, optimizer, scheduler)
        encoder = _check_encoder(net)
        check_mask_options(encoder.grid, target_blocks, target_scale, target_aspect)
        _check_momentum(momentum, momentum_end)
        if loss not in JEPA_LOSSES:
            raise ConfigError(
                f"task.loss={loss!r} does not fit jepa; valid: {', '.join(JEPA_LOSSES)}"
            )
        self.save_hyperparameters(ignore=["net", "optimizer", "scheduler"], logger=False)
        self.criterion = get_loss(loss)
        self.mask_options = (int(target_blocks), tuple(target_scale), tuple(target_aspect))
        self.momentum_range = (float(momentum), float(momentum_end))
        self.mask_seed = int(mask_seed)
        self.predictor = JEPAPredictor(
            encoder.grid, encoder.d_model, predictor_width, predictor_heads, predictor_layers
        )
        # outside every optimizer group: it learns only through ema_update
        self.target_encoder = copy.deepcopy(encoder).requires_grad_(False)
        self.momentum = float(momentum)
        self._mask_generators = {stage: torch.Generator() for stage in STAGES}
        self._total_steps = math.inf

    def trained_modules(self) -> nn.ModuleDict:
        """What the optimizer updates: the context encoder and the predictor (never
        the target encoder)."""
        return nn.ModuleDict({"net": self.net, "predictor": self.predictor})

    # --- masks --------------------------------------------------------------------

    def reseed_masks(self, stage: str, epoch: int = 0) -> None:
        """Start ``stage``'s masks from the seed of (``mask_seed``, stage, epoch)."""
        state = np.random.SeedSequence([self.mask_seed, STAGES.index(stage), epoch])
        self._mask_generators[stage].manual_seed(int(state.generate_state(1, np.uint64)[0]))

    def draw_mask(self, stage: str) -> PatchMask:
        """The next mask of ``stage`` (on the CPU; see :func:`block_mask`)."""
        return block_mask(self.net.grid, *self.mask_options, self._mask_generators[stage])

    def on_train_epoch_start(self) -> None:
        super().on_train_epoch_start()
        self.reseed_masks("train", self.current_epoch)

    def on_validation_epoch_start(self) -> None:
        self.reseed_masks("val")  # every epoch the same masks: comparable losses

    def on_test_epoch_start(self) -> None:
        self.reseed_masks("test")

    # --- the moving average -------------------------------------------------------

    def on_train_start(self) -> None:
        self._total_steps = float(self.trainer.estimated_stepping_batches)
        if self.trainer.global_step == 0:
            # a fresh fit starts the target at the context encoder, also when weights
            # were loaded into the net after this task was built
            self.target_encoder.load_state_dict(self.net.state_dict())

    def update_target(self) -> None:
        """One moving-average step of the target encoder, at the current momentum."""
        start, end = self.momentum_range
        self.momentum = momentum_at(self.trainer.global_step - 1, self._total_steps, start, end)
        ema_update(self.target_encoder, self.net, self.momentum)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        steps = self.trainer.global_step
        loss = super().training_step(batch, batch_idx)
        if self.trainer.global_step != steps:  # an optimizer step, not mid-accumulation
            self.update_target()
        return loss

    # --- the loss -----------------------------------------------------------------

    def predict_targets(
        self, x: torch.Tensor, mask: PatchMask
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The predictor's and the target encoder's embeddings of the target patches,
        and the target encoder's pooled embedding of every image.

        Shapes:
            x (B, C, H, W); outputs (B, T, d_model), (B, T, d_model) and (B, d_model).
        """
        context_index = mask.context.to(x.device)
        target_index = mask.target.to(x.device)
        with torch.no_grad():
            every = self.target_encoder.encode(x)  # (B, N, d_model)
            # normalised per patch as in I-JEPA: the targets' scale cannot shrink
            target = F.layer_norm(every[:, target_index], every.shape[-1:])  # (B, T, d)
        context = self.net.encode(x, context_index)  # (B, K, d_model)
        predicted = self.predictor(context, context_index, target_index)  # (B, T, d_model)
        return predicted, target, every.mean(dim=1)

    def _shared_step(self, batch: Any, stage: str) -> torch.Tensor:
        (x, *_), _ = self.split_batch(batch)
        predicted, target, pooled = self.predict_targets(x, self.draw_mask(stage))
        loss = self.criterion(predicted, target)
        count = loss.new_tensor(len(x))
        # the spread of the representation over the batch: near 0 means collapse
        spread = pooled.std(dim=0).mean() if len(x) > 1 else loss.new_zeros(())
        self._accumulate(stage, torch.stack([loss.detach() * count, spread * count, count]))
        return loss

    def _log_epoch(self, stage: str) -> None:
        sums = self._epoch_sums(stage)
        if sums is None:
            return
        values = {f"{stage}/loss": sums[0] / sums[2], f"{stage}/target_std": sums[1] / sums[2]}
        if stage == "train":
            values["train/momentum"] = sums.new_tensor(self.momentum)
        self._log_epoch_values(values)

    def on_validation_epoch_end(self) -> None:
        self._log_epoch("val")

    def on_test_epoch_end(self) -> None:
        self._log_epoch("test")

    # --- the representation -------------------------------------------------------

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The target encoder's mean-pooled patch embeddings (see the module docstring).

        Shapes:
            x (B, C, H, W) -> (B, d_model)
        """
        return self.target_encoder.forward_features(x)

    def infer(self, x: torch.Tensor) -> torch.Tensor:
        """The embeddings of :meth:`embed`.

        Shapes:
            x (B, C, H, W) -> (B, d_model)
        """
        return self.embed(x)
