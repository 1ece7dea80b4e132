"""The net of a run: its config node with the shape arguments filled from the data.

Every argument the net's ``__init__`` (or a nested ``encoder`` / ``decoder`` /
``backbone`` / ``head`` node's) declares and the datamodule provides is filled in,
unless the config sets it; a value that contradicts the data is an error that names
the model and the data.
"""

from __future__ import annotations

from typing import Any

import torch
from omegaconf import DictConfig, ListConfig, OmegaConf

from dlzoo.config.checks import signature
from dlzoo.config.instantiate import instantiate
from dlzoo.errors import ConfigError
from dlzoo.models.registry import fill_unset

# nested net configs whose shape arguments are filled like the net's own
NESTED_NETS = ("encoder", "decoder", "backbone", "head")


def choice(group: str, fallback: str) -> str:
    """The option name Hydra chose for ``group`` (e.g. ``cnn``), outside Hydra the class."""
    try:
        from hydra.core.hydra_config import HydraConfig

        return str(HydraConfig.get().runtime.choices.get(group) or fallback)
    except Exception:
        return fallback


def data_name(datamodule: Any) -> str:
    return getattr(datamodule, "name", None) or choice("data", type(datamodule).__name__)


def plain(value: Any) -> Any:
    if isinstance(value, DictConfig | ListConfig):
        value = OmegaConf.to_container(value, resolve=True)
    return list(value) if isinstance(value, tuple | list) else value


def _fill_shapes(
    node: dict[str, Any], provided: dict[str, Any], where: str, names: tuple[str, str]
) -> dict[str, Any]:
    """``node`` with every shape argument its class takes and the data provides filled in,
    recursively for nested net nodes (an autoencoder's ``encoder:`` / ``decoder:``).

    Raises:
        ConfigError: a configured value contradicts the data, or a required argument is
            given by neither; naming the model and the data.
    """
    model, data = names
    params = signature(str(node["_target_"]), where).parameters
    out = dict(node)
    for key, value in provided.items():
        if key in params and not fill_unset(out, key, value):
            raise ConfigError(
                f"model '{model}' sets {key}={plain(node[key])} but data '{data}' has "
                f"{key}={plain(value)}; remove {where}.{key}"
            )
    for key in NESTED_NETS:
        if isinstance(out.get(key), dict) and "_target_" in out[key]:
            out[key] = _fill_shapes(out[key], provided, f"{where}.{key}", names)
    missing = [
        n
        for n, p in params.items()
        if p.default is p.empty
        and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        and out.get(n) is None
    ]
    if missing:
        raise ConfigError(
            f"model '{model}' does not fit data '{data}': {where} needs "
            f"{', '.join(missing)}, the data provides {', '.join(provided) or 'nothing'}"
        )
    return out


def build_net(model_cfg: DictConfig, datamodule: Any) -> torch.nn.Module:
    """Instantiate the net, filling its shape arguments from ``datamodule.net_kwargs()``.

    Every argument the net's ``__init__`` (or a nested ``encoder`` / ``decoder`` /
    ``backbone`` node's) declares and the datamodule provides is filled in, unless the
    config sets it; a config value that contradicts the data is an error, and so is a
    required argument that neither gives.

    Raises:
        ConfigError: naming both the model and the data and what does not match.
    """
    names = (choice("model", str(model_cfg._target_).rsplit(".", 1)[-1]), data_name(datamodule))
    node = OmegaConf.to_container(model_cfg, resolve=True)
    filled = _fill_shapes(node, dict(datamodule.net_kwargs()), "model", names)
    try:
        return instantiate(filled, _convert_="all")
    except ConfigError as exc:
        raise ConfigError(f"model '{names[0]}' does not fit data '{names[1]}': {exc}") from None
