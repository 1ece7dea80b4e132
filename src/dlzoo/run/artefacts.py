"""A run directory as an artefact: its files, its checkpoints, and the run rebuilt
from them alone (``.hydra/config.yaml`` plus a checkpoint), from any working directory.

Checkpoints are read with ``torch.load(weights_only=True)``: they hold tensors and
plain data only, so loading one never runs code from the file.
"""

from __future__ import annotations

import json
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from dlzoo.config.layout import CONFIG_FILE
from dlzoo.config.legacy import upgrade_targets
from dlzoo.errors import ConfigError, DataError

CHECKPOINTS = ("best.ckpt", "last.ckpt")


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` through a temporary file, so a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    """Write JSON through a temporary file, so a crash never leaves half a file."""
    write_text_atomic(path, json.dumps(payload, indent=2, sort_keys=True) + "\n")


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a dlzoo checkpoint safely (``weights_only=True``).

    Raises:
        ConfigError: the file does not exist.
        DataError: the file is truncated, not a checkpoint, or not a dlzoo one.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"checkpoint {path} does not exist: pass a .ckpt file from a run's checkpoints/"
        )
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except (
        RuntimeError,
        EOFError,
        OSError,
        pickle.UnpicklingError,
        zipfile.BadZipFile,
        ValueError,
    ) as exc:
        kind = "truncated" if isinstance(exc, RuntimeError | EOFError) else "not a checkpoint"
        raise DataError(
            f"checkpoint {path} cannot be read ({kind}: {type(exc).__name__}): use the "
            "run's other checkpoint, or train again"
        ) from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise DataError(f"{path} is not a Lightning checkpoint (no state_dict): pass a .ckpt file")
    if "dlzoo" not in checkpoint:
        raise DataError(
            f"{path} is a Lightning checkpoint but not a dlzoo one (no dlzoo section): "
            "pass a checkpoint that dlzoo-train wrote"
        )
    return checkpoint


def check_checkpoint_fits(
    checkpoint: dict[str, Any], path: str | Path, net: Any, model_name: str
) -> None:
    """Fail with one line when ``checkpoint`` holds another net than ``net``.

    Raises:
        ConfigError: naming the checkpoint's net and the run's.
    """
    section = checkpoint["dlzoo"]
    held = section.get("net_class")
    wanted = f"{type(net).__module__}.{type(net).__qualname__}"
    own = {
        k.removeprefix("net."): v.shape
        for k, v in checkpoint["state_dict"].items()
        if k.startswith("net.")
    }
    shapes = {k: v.shape for k, v in net.state_dict().items()}
    if held != wanted or own != shapes:
        differs = next((k for k in shapes if own.get(k) != shapes[k]), None)
        detail = (
            f" ({differs}: {tuple(own[differs]) if differs in own else 'missing'} vs "
            f"{tuple(shapes[differs])})"
            if differs
            else ""
        )
        raise ConfigError(
            f"checkpoint {path} holds a '{section.get('model')}' net that does not fit this "
            f"run's '{model_name}' net{detail}: pass a checkpoint of the same experiment"
        )


def fitted_state(checkpoint: dict[str, Any], cfg: DictConfig, path: str | Path) -> Any:
    """The datamodule's fitted preprocessing from the entry Lightning saved for it.

    Raises:
        DataError: the checkpoint holds no state of the run's datamodule.
    """
    from hydra.utils import get_class

    key = get_class(str(cfg.data._target_)).__qualname__  # Lightning's key for it
    entry = checkpoint.get(key)
    if not isinstance(entry, dict) or "fitted" not in entry:
        raise DataError(
            f"checkpoint {path} holds no fitted state of the run's datamodule {key}: "
            "pass a checkpoint of this run"
        )
    return entry["fitted"]


def save_run_config(cfg: DictConfig, run_dir: str | Path) -> None:
    """Write ``.hydra/config.yaml`` for a run composed outside the CLI (Hydra writes it
    for CLI runs), so every run directory can be rebuilt from itself.

    A file with the same config is left as it is (a CLI run's own, which Hydra wrote);
    a continued run's config (``resume=true``, ``ckpt_path=``) replaces its earlier one.

    Raises:
        ConfigError: ``run_dir`` holds another run's config and this run does not
            continue it (see :func:`dlzoo.config.run_claim.refuse_other_run`).
    """
    from dlzoo.config.run_claim import config_difference, refuse_other_run

    path = Path(run_dir) / CONFIG_FILE
    refuse_other_run(run_dir, cfg)
    if path.is_file() and config_difference(run_dir, cfg) is None:
        return  # the same config (a CLI run's: Hydra wrote it)
    path.parent.mkdir(parents=True, exist_ok=True)
    plain = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"])
    OmegaConf.save(plain, path)


def load_run_config(run_dir: str | Path) -> DictConfig:
    """The composed config a run was trained with, its paths pointing at ``run_dir``.

    Raises:
        ConfigError: ``run_dir`` is not a run directory.
    """
    run_dir = Path(run_dir)
    path = run_dir / CONFIG_FILE
    if not path.is_file():
        raise ConfigError(
            f"{run_dir} is not a dlzoo run directory (no {CONFIG_FILE}): pass the folder "
            "that dlzoo-train printed as 'run directory'"
        )
    cfg = OmegaConf.load(path)
    upgrade_targets(cfg)  # a run written before the datamodules moved
    # the only value that Hydra's runtime interpolates; the rest resolves anywhere
    cfg.paths.output_dir = str(run_dir.resolve())
    return cfg


def run_checkpoint(run_dir: str | Path, ckpt_path: str | Path | None = None) -> Path:
    """``ckpt_path``, or the run's best checkpoint (its last one where there is no best).

    Raises:
        ConfigError: the run has no checkpoint.
    """
    if ckpt_path:
        return Path(ckpt_path)
    for name in CHECKPOINTS:
        path = Path(run_dir) / "checkpoints" / name
        if path.is_file():
            return path
    raise ConfigError(
        f"run {run_dir} has no checkpoints/best.ckpt or last.ckpt (trained with "
        "callbacks=none?): pass ckpt_path=FILE or train it again with checkpoints"
    )
