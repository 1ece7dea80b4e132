"""Entry point: ``dlzoo-train`` / ``python scripts/train.py [overrides]``.

Composes ``conf/train.yaml`` with Hydra and calls :func:`dlzoo.pipeline.train`. Bad
input (a :class:`~dlzoo.errors.DlzooError`) is reported as one ``error:`` line on
stderr with exit status 2, and the run directory it would have used is removed.
Before Hydra starts, :func:`preflight` catches what Hydra would report as a page of
text or a traceback (an override it cannot parse, an unknown key or group option, an
unwritable log directory) and turns ``resume=true`` into the latest run's own
overrides, directory and ``last.ckpt``; it composes the command line once for all of
that (Hydra then composes it twice more, to choose the run mode and to run).

From Python, the same run is ``pipeline.train(compose_config([...], run_dir))``.
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
    if cfg.get("resume") or (run_dir / "checkpoints").exists():
        return  # a resumed run's directory holds an earlier run's results
    shutil.rmtree(run_dir / ".hydra", ignore_errors=True)
    (run_dir / f"{task_name}.log").unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        run_dir.rmdir()  # only when nothing else is in it


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
def _hydra_main(cfg: DictConfig) -> float | None:
    from dlzoo.pipeline import train
    from dlzoo.sweeps.status import in_multirun, record_failure

    try:
        return train(cfg)
    except Exception as exc:
        if in_multirun():  # one failed trial: error.json, the worst value, the sweep goes on
            return record_failure(cfg, exc)
        if not isinstance(exc, DlzooError):
            raise
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

    from dlzoo.run_claim import forget_claims

    forget_claims()  # each composition is another run: its hydra.run.dir is a new one
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


def _missing_option(exc: Exception) -> ConfigError | None:
    """Hydra's page-long 'Could not find' text as one line, or ``None``."""
    match = re.search(r"Could not find '([^']+)'", str(exc))
    options = getattr(exc, "options", None)
    if not match:
        return None
    group, _, name = match.group(1).rpartition("/")
    listed = f": choose one of {', '.join(options)}" if options else ""
    return ConfigError(f"unknown {group or 'config'} option '{name}'{listed}")


def _compose(overrides: list[str]) -> DictConfig:
    """``train.yaml`` composed with ``overrides``, without Hydra's own config."""
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose(config_name="train", overrides=overrides)


def _syntax_error(overrides: list[str], exc: Exception) -> ConfigError:
    """Hydra's parse error as one line naming the override it comes from."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import OverrideParseException

    parser = OverridesParser.create()
    where = ""
    for override in overrides:  # Hydra's message does not say which one it was
        try:
            parser.parse_overrides([override])
        except OverrideParseException:
            where = f" {override!r}"
            break
    reason = str(exc).strip().splitlines()[0]
    return ConfigError(
        f"cannot parse the override{where}: {reason}; check its brackets and quotes "
        "(grammar: https://hydra.cc/docs/advanced/override_grammar/basic/)"
    )


def _unknown_key(key: str, firsts: list[str]) -> ConfigError | None:
    """The unknown ``key`` named with the keys its parent has (``None``: can't tell)."""
    from hydra.errors import ConfigCompositionException

    try:
        cfg = _compose([o for o in firsts if not o.startswith(f"{key}=")])
    except ConfigCompositionException:
        return None
    parent, _, leaf = key.rpartition(".")
    # the deepest part of the key that exists (for `nope.x=1`: the root config)
    while parent and not isinstance(OmegaConf.select(cfg, parent), DictConfig):
        parent, _, leaf = parent.rpartition(".")
    node = OmegaConf.select(cfg, parent) if parent else cfg
    valid = sorted(k for k in node if not str(k).startswith("_"))
    where = parent or "the root config"
    return ConfigError(
        f"unknown key '{key}': {where} has no '{leaf}'; valid keys: {', '.join(valid)}"
    )


def check_overrides(overrides: list[str]) -> DictConfig | None:
    """Compose ``train.yaml`` as the run will, failing early on bad overrides.

    Hydra rejects unknown keys and options too, but without saying which exist, and a
    syntax error reaches the user as a traceback; these become one line that does.
    The composed config serves the other checks, so the command line is composed once
    before Hydra's run.

    Returns:
        The config, each sweep at its first value (a sweep that cannot be expanded
        here: the defaults), or ``None`` where Hydra will report the problem itself.

    Raises:
        ConfigError: a syntax error, an unknown key (listing its parent's keys) or an
            unknown group option (listing the valid ones).
    """
    from hydra.errors import (
        ConfigCompositionException,
        MissingConfigException,
        OverrideParseException,
    )

    try:
        firsts = _first_values(overrides) or []
        return _compose(firsts)
    except OverrideParseException as exc:
        raise _syntax_error(overrides, exc) from None
    except MissingConfigException as exc:
        missing = _missing_option(exc)
        if missing:
            raise missing from None
        return None
    except ConfigCompositionException as exc:
        match = re.search(r"Could not override '([^']+)'", str(exc))
        if not match or "not in struct" not in str(exc.__cause__ or exc):
            return None  # Hydra's own message says what is wrong
        error = _unknown_key(match.group(1), firsts)
        if error is None:
            return None
        raise error from None


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


def _named_run(overrides: list[str]) -> Path | None:
    """The run that ``hydra.run.dir=RUN`` names beside ``resume=true`` (``None``: none).

    Raises:
        ConfigError: it has no ``last.ckpt``.
    """
    named = [o.split("=", 1)[1] for o in overrides if _key(o) == "hydra.run.dir"]
    if not named:
        return None
    run = Path(named[-1])
    if not (run / "checkpoints" / "last.ckpt").is_file():
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
    from dlzoo.artefacts import OVERRIDES_FILE, latest_run

    runs = Path(cfg.paths.log_dir) / cfg.task_name / "runs"
    run = _named_run(overrides) or latest_run(cfg.paths.log_dir, cfg.task_name)
    if run is None:
        raise ConfigError(
            f"resume=true: no run of task '{cfg.task_name}' under {runs} has a "
            "checkpoints/last.ckpt; train it first, or pass ckpt_path=FILE"
        )
    own = OmegaConf.load(run / OVERRIDES_FILE) if (run / OVERRIDES_FILE).is_file() else []
    dropped = {"resume", "ckpt_path", "hydra.run.dir"}
    kept = [str(o) for o in own if _key(str(o)) not in dropped]
    new = [o for o in overrides if _key(o) not in dropped]
    last = run / "checkpoints" / "last.ckpt"
    return [*kept, *new, "resume=true", f"hydra.run.dir={run}", f"ckpt_path={last}"]


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
                "train", overrides=_first_values(overrides) or [], return_hydra_config=True
            )
        target = OmegaConf.select(cfg, "hydra.sweeper._target_", default=None)
    except Exception:
        return overrides  # Hydra reports the composition error itself
    if target != ORIGINAL_TARGET:
        return overrides
    return [*overrides, f"hydra.sweeper._target_={TARGET}"]


def preflight(overrides: list[str]) -> list[str]:
    """Check the command line before Hydra starts; see the module docstring.

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
    return sweeper_overrides(overrides)


def main() -> None:
    """Console script ``dlzoo-train``."""
    from hydra._internal.utils import get_args_parser

    from dlzoo.cli import quick_exit

    quick_exit()
    args, _ = get_args_parser().parse_known_args()
    if not (args.help or args.hydra_help or args.cfg or args.info or args.shell_completion):
        try:
            overrides = preflight(list(args.overrides))
        except DlzooError as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(EXIT_BAD_INPUT)
        if overrides != list(args.overrides):
            sys.argv = [sys.argv[0], *overrides]
    _hydra_main()


if __name__ == "__main__":
    main()
