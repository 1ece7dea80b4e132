"""Entry point: ``dlzoo-train`` / ``python scripts/train.py [overrides]``.

Composes ``conf/train.yaml`` with Hydra and calls :func:`dlzoo.run.pipeline.train`. Bad
input (a :class:`~dlzoo.errors.DlzooError`) is reported as one ``error:`` line on
stderr with exit status 2, and the run directory it would have used is removed.
Before Hydra starts, :func:`preflight` catches what Hydra would report as a page of
text or a traceback (an override it cannot parse, an unknown key or group option, an
unwritable log directory), refuses a ``hydra.run.dir`` that holds another run's config
(unless ``resume=true``) and turns ``resume=true`` into the latest run's own
overrides, directory and ``last.ckpt``; it composes the command line once for all of
that (Hydra then composes it twice more, to choose the run mode and to run).

From Python, the same run is ``dlzoo.fit(experiment, *overrides)`` (see
:mod:`dlzoo.run.notebook`), or ``pipeline.train(compose_config([...]))`` (see
:mod:`dlzoo.config.compose`); the checks before Hydra starts are
:func:`dlzoo.config.preflight.preflight`.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from dlzoo.cli.frame import EXIT_BAD_INPUT, frozen_imports
from dlzoo.config.compose import CONFIG_DIR
from dlzoo.config.preflight import preflight
from dlzoo.errors import DlzooError


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
    with frozen_imports():  # torch and Lightning: no collections while they import
        from dlzoo.run.pipeline import train
        from dlzoo.run.status import in_multirun, record_failure

    try:
        return train(cfg)
    except Exception as exc:
        if in_multirun():  # one failed trial: error.json, the worst value, the sweep goes on
            return record_failure(cfg, exc)
        if not isinstance(exc, DlzooError):
            raise
        _remove_run_dir(cfg)
        if exc.report:
            print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_status)


def main() -> None:
    """Console script ``dlzoo-train``."""
    # private, and kept: Hydra has no public parser of its own command line, which the
    # preflight must read exactly as @hydra.main will
    from hydra._internal.utils import get_args_parser

    from dlzoo.cli.frame import quick_exit

    quick_exit()
    args, _ = get_args_parser().parse_known_args()
    if not (args.help or args.hydra_help or args.cfg or args.info or args.shell_completion):
        try:
            overrides = preflight(list(args.overrides), multirun=bool(args.multirun))
        except DlzooError as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(EXIT_BAD_INPUT)
        if overrides != list(args.overrides):
            sys.argv = [sys.argv[0], *overrides]
    _hydra_main()


if __name__ == "__main__":
    main()
