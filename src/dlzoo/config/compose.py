"""``train.yaml`` composed as the command line composes it, outside a Hydra run.

The config tree ships inside the package (``dlzoo/conf``), so a wheel, an editable
install and ``scripts/train.py`` read the same folder. From Python, a run is
``pipeline.train(compose_config([...]))``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from omegaconf import DictConfig

# the config tree ships inside the package, so a wheel, an editable install and
# scripts/train.py all read the same folder
CONFIG_DIR = Path(__file__).resolve().parent.parent / "conf"


@contextmanager
def hydra_state_kept() -> Iterator[None]:
    """Give Hydra's global state back as it was after the block.

    A run composed inside another run (a transfer run training its source first)
    replaces Hydra's global config; the outer run goes on reading its own after it.
    """
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig

    held, config = GlobalHydra.instance().hydra, HydraConfig.instance().cfg
    try:
        yield
    finally:
        GlobalHydra.instance().hydra = held
        HydraConfig.instance().cfg = config


def compose_config(overrides: list[str], run_dir: str | Path | None = None) -> DictConfig:
    """Compose ``train.yaml`` as the command line would, outside a Hydra run.

    For notebooks, tests and benchmarks: ``pipeline.train(compose_config([...]))``
    is a run without the CLI. ``${hydra:...}`` interpolations resolve as in a run.

    Args:
        overrides: command-line style overrides, e.g. ``["experiment=digits_cnn"]``.
        run_dir: the run directory; by default the one the command line would make
            (``hydra.run.dir``).
    """
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig

    from dlzoo.config.run_claim import forget_claims

    forget_claims()  # each composition is another run: its hydra.run.dir is a new one
    GlobalHydra.instance().clear()
    given = [f"paths.output_dir={run_dir}"] if run_dir is not None else []
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="train", overrides=[*given, *overrides], return_hydra_config=True)
    if run_dir is None:
        cfg.paths.output_dir = str(cfg.hydra.run.dir)
    HydraConfig.instance().set_config(cfg)
    return cfg


def first_values(overrides: list[str]) -> list[str] | None:
    """Overrides with every sweep replaced by its first value (None: can't tell)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    out = []
    for override in OverridesParser.create().parse_overrides(overrides):
        key = override.get_key_element()
        # Hydra's own settings do not change the task's config; its search path does
        # (a search file in another folder)
        if key.lstrip("+~").startswith("hydra") and key != "hydra.searchpath":
            continue
        if override.is_sweep_override():
            try:
                out.append(f"{key}={next(iter(override.sweep_string_iterator()))}")
            except Exception:
                return None
        else:
            out.append(override.input_line)
    return out


def compose_plain(overrides: list[str]) -> DictConfig:
    """``train.yaml`` composed with ``overrides``, without Hydra's own config."""
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose(config_name="train", overrides=overrides)
