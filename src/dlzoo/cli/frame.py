"""What the ``key=value`` entry points share (``dlzoo-eval``, ``dlzoo-predict``,
``dlzoo-export``): argument parsing, ``--help``, and bad input as one ``error:`` line
with exit status 2; and, for every console script, :func:`quick_exit` (and, for
``dlzoo-train``'s imports, :func:`frozen_imports`): the garbage collector's cost."""

from __future__ import annotations

import atexit
import contextlib
import gc
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from dlzoo.errors import ConfigError, DlzooError

EXIT_BAD_INPUT = 2
_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no"}


def _is_override(arg: str) -> bool:
    """Whether ``arg`` is a Hydra-style config override (``trainer=cpu``,
    ``data.batch_size=64``, ``+trainer.x=1``, ``~trainer.x``), not one of the command's
    own ``key=value`` arguments."""
    from dlzoo.config.compose import CONFIG_DIR

    key = arg.partition("=")[0]
    return key.startswith(("+", "~")) or "." in key or (CONFIG_DIR / key).is_dir()


def parse_args(
    argv: list[str],
    defaults: Mapping[str, Any],
    required: set[str],
    overrides: str | None = None,
) -> dict[str, Any]:
    """``key=value`` arguments over ``defaults``; booleans where the default is one.

    Args:
        argv: the command line.
        defaults: the command's own keys and their defaults.
        required: keys that must be given.
        overrides: where the command also takes config overrides, the text that names
            them; they come back as a list under ``"overrides"``, in order.

    Raises:
        ConfigError: an argument without ``=``, an unknown key, a bad boolean, or a
            required key missing; naming the valid keys.
    """
    valid = ", ".join(sorted(defaults))
    if overrides:
        valid += f"; and the config overrides {overrides}"
    out = dict(defaults)
    given: list[str] = []
    for arg in argv:
        key, sep, value = arg.partition("=")
        if overrides and key not in defaults and _is_override(arg):
            given.append(arg)
            continue
        if not sep:
            raise ConfigError(f"argument {arg!r} is not key=value; valid keys: {valid}")
        if key not in defaults:
            raise ConfigError(f"unknown key {key!r}; valid keys: {valid}")
        if isinstance(defaults[key], bool):
            if value.lower() not in _TRUE | _FALSE:
                raise ConfigError(f"{key}={value} must be true or false")
            out[key] = value.lower() in _TRUE
        else:
            out[key] = value
    missing = sorted(k for k in required if not out.get(k))
    if missing:
        raise ConfigError(f"{missing[0]}=... is required; valid keys: {valid}")
    if overrides:
        out["overrides"] = given
    return out


def quick_exit() -> None:
    """Spare this process the garbage collection of everything at interpreter shutdown.

    Once torch and Lightning are imported, Python's teardown collects their whole
    module graph (hundreds of thousands of objects in reference cycles): about a second
    on the project's 2-core machine, after the command's work is done. ``gc.freeze()``
    as the process exits leaves those objects to the operating system. The other exit
    handlers still run (logging's flush and close, loggers, multiprocessing), and
    objects freed by reference counting are still finalised; only garbage in reference
    cycles is not collected, which nothing here relies on: files are closed and
    loggers finalised explicitly. Console scripts only: a library caller's process
    goes on.
    """
    atexit.register(gc.freeze)


@contextlib.contextmanager
def frozen_imports() -> Iterator[None]:
    """Import inside this block without the garbage collector, then leave everything
    alive out of its later passes.

    Importing torch and Lightning creates well over a million objects, and the
    collector's full pass runs every few hundred thousand of them, each one walking
    everything imported so far: seven passes, about 0.45 s on the project's 2-core
    machine, that find almost nothing. It is off inside the block; at its end
    ``gc.freeze()`` moves every object alive to a permanent generation that collections
    skip (modules live as long as the process anyway), so a full collection later in the
    run walks only the run's own objects (one during a digits_cnn run's scoring took
    0.3 s with the modules). The few cycles the imports left (some 40 000 objects, a few
    MB) are kept: finding them would walk everything once more. Frozen once per
    process: a sweep runs its trials in one process, and freezing again would keep an
    earlier trial's garbage for good. Console scripts only, as :func:`quick_exit`.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if gc.get_freeze_count() == 0:
            gc.freeze()
        if enabled:
            gc.enable()


def run_entry(
    usage: str,
    defaults: Mapping[str, Any],
    required: set[str],
    action: Callable[[dict[str, Any]], None],
    overrides: str | None = None,
) -> None:
    """Parse ``sys.argv``, run ``action`` on the arguments; ``--help`` prints ``usage``.

    Args:
        usage: the help text.
        defaults: the command's own keys and their defaults.
        required: keys that must be given.
        action: runs the command on the parsed arguments.
        overrides: where the command also takes config overrides, the text that names
            them (see :func:`parse_args`).
    """
    import logging

    # Lightning's start-up notes (accelerators, tips) are noise for a one-shot command
    for name in ("lightning.pytorch", "lightning.pytorch.utilities.rank_zero"):
        logging.getLogger(name).setLevel(logging.WARNING)
    run_command(usage, lambda argv: action(parse_args(argv, defaults, required, overrides)))


def run_command(
    usage: str, action: Callable[[list[str]], object], needs_args: bool = False
) -> None:
    """A console script's frame: ``--help`` (or no arguments, with ``needs_args``) prints
    ``usage``; bad input is one ``error:`` line on stderr and exit status 2.

    Args:
        usage: the help text.
        action: runs the command on ``sys.argv[1:]``.
        needs_args: no arguments at all is a call for help.
    """
    quick_exit()
    argv = sys.argv[1:]
    if (needs_args and not argv) or {"-h", "--help"} & set(argv):
        print(usage.strip())
        return
    try:
        action(argv)
    except DlzooError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
