"""What ``dlzoo-train`` checks before Hydra starts.

:func:`preflight` catches what Hydra would report as a page of text or a traceback (an
override it cannot parse, an unknown key or group option, an unwritable log directory),
refuses a ``hydra.run.dir`` that holds another run (before Hydra writes over that run's
config) and turns ``resume=true`` into the latest run's own overrides, directory and
``last.ckpt``; it composes the command line once for all of that (Hydra then composes
it twice more, to choose the run mode and to run).
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from dlzoo.config.compose import CONFIG_DIR, first_values
from dlzoo.config.layout import LAST_CHECKPOINT
from dlzoo.config.overrides import check_overrides
from dlzoo.config.run_claim import refuse_other_run
from dlzoo.errors import ConfigError


def _check_writable(log_dir: Path) -> None:
    """Fail early on a log directory that cannot be written (Hydra would crash)."""
    import tempfile

    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        # a file of this process's own (runs starting together share the folder), gone
        # when closed
        with tempfile.TemporaryFile(dir=log_dir):
            pass
    except OSError as exc:
        raise ConfigError(
            f"cannot write to the log directory {log_dir} ({exc.strerror or exc}): set "
            "paths.log_dir=DIR or DLZOO_LOG_DIR to a folder you can write"
        ) from None


def _key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def _run_dir_override(overrides: list[str]) -> str | None:
    """The directory that ``hydra.run.dir=RUN`` names (the last one), or ``None``."""
    named = [o.split("=", 1)[1] for o in overrides if _key(o) == "hydra.run.dir"]
    if not named:
        return None
    value = named[-1]
    # quoted as Hydra's grammar allows; Lightning quotes it for a DDP run's other ranks
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    return value


def _named_run(overrides: list[str]) -> Path | None:
    """The run that ``hydra.run.dir=RUN`` names beside ``resume=true`` (``None``: none).

    Raises:
        ConfigError: it has no ``last.ckpt``.
    """
    named = _run_dir_override(overrides)
    if named is None:
        return None
    run = Path(named)
    if not (run / LAST_CHECKPOINT).is_file():
        raise ConfigError(
            f"resume=true: hydra.run.dir={run} has no checkpoints/last.ckpt; give a run "
            "directory that dlzoo-train printed, or leave hydra.run.dir out to continue "
            "the task's latest run"
        )
    return run


def resume_overrides(overrides: list[str], cfg: DictConfig) -> list[str]:
    """``resume=true``: the run that ``hydra.run.dir`` names, else the latest run of
    ``task_name``, continued in its own directory.

    Returns:
        That run's own overrides, then the new ones, then its run directory and its
        ``last.ckpt``.

    Raises:
        ConfigError: no run of this task (or the named run) has a ``last.ckpt``.
    """
    from dlzoo.config.layout import OVERRIDES_FILE, latest_run

    runs = Path(cfg.paths.log_dir) / cfg.task_name / "runs"
    run = _named_run(overrides) or latest_run(cfg.paths.log_dir, cfg.task_name)
    if run is None:
        raise ConfigError(
            f"resume=true: no run of task '{cfg.task_name}' under {runs} has a "
            "checkpoints/last.ckpt; train it first, or pass ckpt_path=FILE"
        )
    own = OmegaConf.load(run / OVERRIDES_FILE) if (run / OVERRIDES_FILE).is_file() else []
    dropped = {"resume", "ckpt_path", "hydra.run.dir"}
    # one override per key, the command line's winning: the run's own `+key=` given
    # again (as a DDP run's other ranks get every override again) is no duplicate
    merged = {_key(o): o for o in [*map(str, own), *overrides] if _key(o) not in dropped}
    last = run / LAST_CHECKPOINT
    return [*merged.values(), "resume=true", f"hydra.run.dir={run}", f"ckpt_path={last}"]


def sweeper_overrides(overrides: list[str]) -> list[str]:
    """``overrides``, plus ``hydra.sweeper._target_=`` dlzoo's Optuna sweeper where the
    search file names hydra-optuna-sweeper's class.

    lightning-hydra-template's search files set that class explicitly; Hydra would
    look for it among the installed plugins and stop. dlzoo's sweeper reads the same
    fields, so the file runs unchanged with this one override added to the command
    line (a Hydra override: not part of the runs' own overrides or names).
    """
    from hydra import compose, initialize_config_dir

    from hydra_plugins.dlzoo_optuna_sweeper.config import ORIGINAL_TARGET, TARGET

    if not any(
        o.startswith(("hparams_search=", "hydra/sweeper=", "hydra.sweeper")) for o in overrides
    ):
        return overrides  # no search file chosen: nothing can name the other class
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose(
                "train", overrides=first_values(overrides) or [], return_hydra_config=True
            )
        target = OmegaConf.select(cfg, "hydra.sweeper._target_", default=None)
    except Exception:
        return overrides  # Hydra reports the composition error itself
    if target != ORIGINAL_TARGET:
        return overrides
    return [*overrides, f"hydra.sweeper._target_={TARGET}"]


def preflight(overrides: list[str], multirun: bool = False) -> list[str]:
    """Check the command line before Hydra starts; see the module docstring.

    Args:
        overrides: the command line's overrides.
        multirun: ``-m`` was given (``hydra.run.dir`` is then not used).

    Returns:
        The overrides to run with (changed by ``resume=true`` and by a search file
        naming hydra-optuna-sweeper, see :func:`sweeper_overrides`).

    Raises:
        ConfigError: one line naming the problem and the fix.
    """
    cfg = check_overrides(overrides)
    if cfg is None:
        return overrides  # Hydra fails on the same composition and says why
    _check_writable(Path(cfg.paths.log_dir))
    if cfg.get("resume"):
        return resume_overrides(overrides, cfg)
    named = _run_dir_override(overrides)
    if named is not None and not multirun:
        # now, before Hydra writes this run's config over the one that run left there
        refuse_other_run(named, cfg)
    return sweeper_overrides(overrides)
