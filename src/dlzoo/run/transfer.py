"""Transfer learning: a trained run's net, a new head, and what of it stays frozen.

``init_from=RUN_DIR`` (or the name of an experiment, whose newest finished run is used,
trained first when there is none) builds the net of that run, loads its weights and
replaces its head by a fresh classifier of this data's classes through the net API
(:meth:`~dlzoo.models.base.ZooNet.reset_head`). What the new head sees is the source
net's ``forward_features``: a classifier's pooled features, an autoencoder's latent, a
siamese net's encoder features. The ``transfer`` config says what happens to the
reused body:

- ``freeze: all`` trains the new head alone (a frozen feature extractor; its batch
  norm layers stay in eval mode, so their statistics do not drift either); ``freeze:
  N`` freezes the first N blocks (parameter groups in the order the net registers
  them, ``features.0``, ``features.1``, ...); ``freeze: none`` fine-tunes everything;
- ``unfreeze_at_epoch: E`` unfreezes the frozen part at epoch E with Lightning's
  ``BackboneFinetuning`` (its learning rate starts at ``backbone_lr_scale`` times the
  head's and grows each epoch until it meets it);
- ``backbone_lr_scale``: the learning rate of the reused body relative to the head's;
- ``pretrained: false`` builds the same net with fresh weights: the from-scratch
  comparison with exactly the same architecture.

The source's architecture travels in every checkpoint of the new run (the ``dlzoo``
section's ``transfer`` entry), so the run rebuilds, predicts and exports without the
source run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import BackboneFinetuning
from omegaconf import DictConfig, OmegaConf
from torch import nn

from dlzoo.errors import ConfigError

# the inputs a reused net must be given as it was trained on
_INPUT_KEYS = ("in_channels", "image_size", "in_features", "input_size", "vocab_size")


@dataclass
class Transfer:
    """What a transfer run built: its net and which of the net's parameters are the
    reused body (for freezing and its learning rate)."""

    net: nn.Module
    spec: dict[str, Any]
    body: list[tuple[str, nn.Parameter]] = field(default_factory=list)
    # what keeps the frozen part frozen during fit (set by attach)
    callbacks: list[L.Callback] = field(default_factory=list)


# --------------------------------------------------------------------------- the source


def _finished_runs(log_dir: Path, task_name: str) -> list[Path]:
    runs = log_dir / task_name / "runs"
    return sorted(p for p in runs.glob("*") if (p / "metrics.json").is_file())


def source_to_train(cfg: DictConfig) -> str | None:
    """The experiment that ``init_from`` names when it has no finished run yet (it is
    then trained first, by :func:`dlzoo.run.pipeline.train`); otherwise ``None``."""
    from dlzoo.config.compose import CONFIG_DIR

    name = str(cfg.get("init_from") or "")
    if not name or cfg.get("transfer", {}).get("source") or Path(name).expanduser().is_dir():
        return None
    path = CONFIG_DIR / "experiment" / f"{name}.yaml"
    if not path.is_file():
        return None  # resolve_run_dir says what is wrong
    task_name = str(OmegaConf.load(path).get("task_name") or name)
    return None if _finished_runs(Path(cfg.paths.log_dir), task_name) else name


def _experiment_run(name: str, cfg: DictConfig) -> Path:
    """The newest finished run of experiment ``name``."""
    from dlzoo.config.compose import CONFIG_DIR

    experiment = OmegaConf.load(CONFIG_DIR / "experiment" / f"{name}.yaml")
    task_name = str(experiment.get("task_name") or name)
    log_dir = Path(cfg.paths.log_dir)
    runs = _finished_runs(log_dir, task_name)
    if not runs:
        raise ConfigError(
            f"init_from={name}: no finished run of experiment={name} under {log_dir}: "
            f"train it first (`python scripts/train.py experiment={name}`)"
        )
    return runs[-1]


def resolve_run_dir(init_from: str, cfg: DictConfig) -> Path:
    """``init_from`` as a run directory: a directory as given, an experiment's run.

    Raises:
        ConfigError: neither a run directory nor an experiment name.
    """
    from dlzoo.config.compose import CONFIG_DIR

    path = Path(init_from).expanduser()
    if path.is_dir():
        return path
    if (CONFIG_DIR / "experiment" / f"{init_from}.yaml").is_file():
        return _experiment_run(init_from, cfg)
    raise ConfigError(
        f"init_from={init_from} is neither a run directory nor an experiment "
        "(conf/experiment/<name>.yaml): pass the folder dlzoo-train printed as 'run directory'"
    )


def source_spec(cfg: DictConfig) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """What the source net is: ``(spec, checkpoint)``.

    ``spec`` is plain data: the source's ``run_dir``, ``model`` config, ``model_name``,
    ``net_kwargs`` and input ``scaler`` kind. A rebuilt run finds it in its own config
    (``transfer.source``, from its checkpoint) and gets no checkpoint back.
    """
    from dlzoo.run.artefacts import fitted_state, load_checkpoint, load_run_config, run_checkpoint

    held = cfg.transfer.get("source")
    if held:
        return OmegaConf.to_container(held, resolve=True), None
    run_dir = resolve_run_dir(str(cfg.init_from), cfg)
    source_cfg = load_run_config(run_dir)
    path = run_checkpoint(run_dir)
    checkpoint = load_checkpoint(path)
    section = checkpoint["dlzoo"]
    state = fitted_state(checkpoint, source_cfg, path)
    spec = {
        "run_dir": str(Path(run_dir).resolve()),
        "model": OmegaConf.to_container(source_cfg.model, resolve=True),
        "model_name": str(section.get("model") or ""),
        "net_kwargs": dict(section.get("net_kwargs") or {}),
        "scaler": (state.get("scaler") or {}).get("kind") if isinstance(state, dict) else None,
    }
    return spec, checkpoint


def _check_inputs(spec: dict[str, Any], datamodule: Any) -> None:
    """The new data must give the reused net the inputs it was trained on."""
    from dlzoo.run.nets import data_name, plain

    given = {k: plain(v) for k, v in datamodule.net_kwargs().items()}
    for key in _INPUT_KEYS:
        if (
            key in spec["net_kwargs"]
            and key in given
            and plain(spec["net_kwargs"][key]) != given[key]
        ):
            raise ConfigError(
                f"init_from run {spec['run_dir']} was trained on {key}="
                f"{plain(spec['net_kwargs'][key])}, data '{data_name(datamodule)}' has "
                f"{key}={given[key]}: use data of the same shape"
            )
    state = datamodule.fitted_state() if hasattr(datamodule, "fitted_state") else {}
    kind = (state.get("scaler") or {}).get("kind")
    if spec.get("scaler") and kind and spec["scaler"] != kind:
        wanted = "true" if spec["scaler"] == "standard" else "false"
        raise ConfigError(
            f"init_from run {spec['run_dir']} saw inputs scaled '{spec['scaler']}', this "
            f"data scales them '{kind}': set data.normalize={wanted}"
        )


# --------------------------------------------------------------------------- the net


def build_transfer_net(cfg: DictConfig, datamodule: Any, fitted: bool) -> Transfer:
    """The source net, its weights loaded (when training and ``pretrained``), its head
    replaced by a fresh classifier of ``datamodule``'s classes.

    Args:
        cfg: the composed config with ``init_from`` and ``transfer``.
        datamodule: the new run's set-up (or state-loaded) datamodule.
        fitted: the run is rebuilt from its own checkpoint, which holds the weights.

    Raises:
        ConfigError: a bad ``init_from``, data of another shape, or no classes.
    """
    from dlzoo.run.nets import build_net

    spec, checkpoint = source_spec(cfg)
    _check_inputs(spec, datamodule)
    num_classes = datamodule.net_kwargs().get("num_classes")
    if not num_classes:
        raise ConfigError("init_from gives the reused net a new classifier head: use labelled data")
    shapes = SimpleNamespace(net_kwargs=lambda: spec["net_kwargs"], name="the init_from run")
    net = build_net(OmegaConf.create(spec["model"]), shapes)
    if checkpoint is not None and cfg.transfer.get("pretrained", True) and not fitted:
        weights = {
            k.removeprefix("net."): v
            for k, v in checkpoint["state_dict"].items()
            if k.startswith("net.")
        }
        net.load_state_dict(weights)
    before = {id(p) for p in net.parameters()}
    net.reset_head(int(num_classes))
    body = [(n, p) for n, p in net.named_parameters() if id(p) in before]
    return Transfer(net, spec, body)


def blocks(body: list[tuple[str, nn.Parameter]]) -> list[list[nn.Parameter]]:
    """The body's parameters in blocks: names up to their first numeric part
    (``features.0.conv.weight`` is in block ``features.0``), in registration order."""
    order: dict[str, list[nn.Parameter]] = {}
    for name, param in body:
        parts = name.split(".")
        cut = next((i for i, part in enumerate(parts) if part.isdigit()), len(parts) - 2)
        order.setdefault(".".join(parts[: cut + 1]), []).append(param)
    return list(order.values())


def frozen_parameters(transfer: Transfer, freeze: Any) -> list[nn.Parameter]:
    """The body parameters that ``freeze`` (``all``, ``none`` or a number of blocks)
    keeps frozen.

    Raises:
        ConfigError: another value, or more blocks than the body has.
    """
    if freeze in (None, "none", 0, False):
        return []
    if freeze == "all":
        return [p for _, p in transfer.body]
    groups = blocks(transfer.body)
    if isinstance(freeze, bool) or not isinstance(freeze, int) or not 0 < freeze <= len(groups):
        raise ConfigError(
            f"transfer.freeze={freeze!r}: use all, none or a number of blocks 1-{len(groups)}"
        )
    return [p for group in groups[:freeze] for p in group]


def _modules_of(net: nn.Module, params: list[nn.Parameter]) -> Iterator[nn.Module]:
    """The modules that hold any of ``params`` directly."""
    ids = {id(p) for p in params}
    for module in net.modules():
        if any(id(p) in ids for p in module.parameters(recurse=False)):
            yield module


class FreezeBody(L.Callback):
    """Keep the frozen body frozen: no gradients, and its batch norm layers in eval
    mode (Lightning puts the whole module in train mode at every epoch).

    Args:
        modules: the modules whose parameters are frozen.
    """

    def __init__(self, modules: list[nn.Module]) -> None:
        self.modules = modules

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        for module in self.modules:
            module.requires_grad_(False)

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        for module in self.modules:
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()


def attach(transfer: Transfer, task: L.LightningModule, options: DictConfig) -> list[L.Callback]:
    """Freeze, scale the body's learning rate, and return the callbacks that keep it so.

    Returns:
        ``FreezeBody`` for a frozen part, or Lightning's ``BackboneFinetuning`` when
        ``unfreeze_at_epoch`` is set (``task.backbone`` is then the frozen part).
    """
    frozen = frozen_parameters(transfer, options.get("freeze", "none"))
    scale = float(options.get("backbone_lr_scale", 1.0))
    if not 0.0 < scale <= 1.0:
        raise ConfigError(f"transfer.backbone_lr_scale={scale} must be in (0, 1]")
    task.lr_scales = {id(p): scale for _, p in transfer.body} if scale != 1.0 else {}
    modules = list(_modules_of(transfer.net, frozen))
    for param in frozen:  # before the optimizer is built: it holds trainable ones only
        param.requires_grad_(False)
    unfreeze = options.get("unfreeze_at_epoch")
    if unfreeze is None:
        return [FreezeBody(modules)] if modules else []
    if not frozen:
        raise ConfigError("transfer.unfreeze_at_epoch needs a frozen part: set transfer.freeze")
    # BackboneFinetuning reads pl_module.backbone; kept out of the task's submodules, so
    # the checkpoint holds those weights once, under net.
    object.__setattr__(task, "backbone", nn.ModuleList(modules))
    return [
        BackboneFinetuning(
            unfreeze_backbone_at_epoch=int(unfreeze),
            backbone_initial_ratio_lr=scale,
            should_align=True,
            train_bn=False,
        )
    ]
