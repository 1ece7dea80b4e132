"""Entry point: ``dlzoo-train`` / ``python scripts/train.py [overrides]``.

Composes ``conf/train.yaml`` with Hydra and calls :func:`dlzoo.pipeline.train`. Bad
input (a :class:`~dlzoo.errors.DlzooError`) is reported as one ``error:`` line on
stderr with exit status 2, and the run directory it would have used is removed.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from dlzoo.errors import ConfigError, DlzooError

CONFIG_DIR = Path(__file__).resolve().parent / "conf"
EXIT_BAD_INPUT = 2


def _remove_run_dir(cfg: DictConfig) -> None:
    """Remove what Hydra wrote for a run that failed on bad input (and nothing else)."""
    try:
        run_dir = Path(cfg.paths.output_dir)
        task_name = cfg.get("task_name", "train")
    except Exception:
        return
    shutil.rmtree(run_dir / ".hydra", ignore_errors=True)
    (run_dir / f"{task_name}.log").unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        run_dir.rmdir()  # only when nothing else is in it


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
def _hydra_main(cfg: DictConfig) -> float | None:
    from dlzoo.pipeline import train

    try:
        return train(cfg)
    except DlzooError as exc:
        _remove_run_dir(cfg)
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)


def compose_config(overrides: list[str], run_dir: str | Path) -> DictConfig:
    """Compose ``train.yaml`` as the command line would, outside a Hydra run.

    For notebooks, tests and benchmarks: ``pipeline.train(compose_config([...], dir))``
    is a run without the CLI. ``${hydra:...}`` interpolations resolve as in a run.

    Args:
        overrides: command-line style overrides, e.g. ``["experiment=digits_cnn"]``.
        run_dir: the run directory (what Hydra would have made).
    """
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(
            config_name="train",
            overrides=[f"paths.output_dir={run_dir}", *overrides],
            return_hydra_config=True,
        )
    HydraConfig.instance().set_config(cfg)
    return cfg


def _first_values(overrides: list[str]) -> list[str] | None:
    """Overrides with every sweep replaced by its first value (None: can't tell)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    out = []
    for override in OverridesParser.create().parse_overrides(overrides):
        key = override.get_key_element()
        if key.lstrip("+~").startswith("hydra"):
            continue
        if override.is_sweep_override():
            try:
                out.append(f"{key}={next(iter(override.sweep_string_iterator()))}")
            except Exception:
                return None
        else:
            out.append(override.input_line)
    return out


def check_overrides(overrides: list[str]) -> None:
    """Fail early on ``group.key=value`` overrides of keys that do not exist.

    Hydra rejects them too, but without saying which keys exist; this lists them.

    Raises:
        ConfigError: naming the unknown key and the keys its parent has.
    """
    from hydra import compose, initialize_config_dir
    from hydra.errors import ConfigCompositionException, OverrideParseException

    try:
        firsts = _first_values(overrides)
    except OverrideParseException:
        return  # Hydra reports syntax errors itself
    if not firsts:
        return
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        try:
            compose(config_name="train", overrides=firsts)
            return
        except OverrideParseException:
            return
        except ConfigCompositionException as exc:
            match = re.search(r"Could not override '([^']+)'", str(exc))
            if not match or "not in struct" not in str(exc.__cause__ or exc):
                return  # e.g. an unknown group option: Hydra lists the valid ones
            key = match.group(1)
            rest = [o for o in firsts if not o.startswith(f"{key}=")]
            try:
                cfg = compose(config_name="train", overrides=rest)
            except ConfigCompositionException:
                return
    parent, _, leaf = key.rpartition(".")
    node = OmegaConf.select(cfg, parent) if parent else cfg
    valid = sorted(k for k in node if not str(k).startswith("_")) if node else []
    where = parent or "the root config"
    raise ConfigError(
        f"unknown key '{key}': {where} has no '{leaf}'; valid keys: {', '.join(valid)}"
    )


def main() -> None:
    """Console script ``dlzoo-train``."""
    from hydra._internal.utils import get_args_parser

    args, _ = get_args_parser().parse_known_args()
    if not (args.help or args.hydra_help or args.cfg or args.info or args.shell_completion):
        try:
            check_overrides(list(args.overrides))
        except DlzooError as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(EXIT_BAD_INPUT)
    _hydra_main()


if __name__ == "__main__":
    main()
