"""One Python entry for notebooks: ``dlzoo.fit`` trains as ``dlzoo-train`` does.

``fit("digits_cnn", "model.dropout=0.2", seed=0, trainer={"max_epochs": 3})`` is the
command line ``dlzoo-train experiment=digits_cnn model.dropout=0.2 seed=0
trainer.max_epochs=3``: the same checks before anything runs (:func:`preflight`), the
same composition (:func:`compose_config`), the same :func:`dlzoo.run.pipeline.train`,
the same files in the same kind of run directory. Every call gets a new run directory
(``logs/<task_name>/runs/<time>``), whatever ran before in the kernel; ``resume=True``
continues the latest run of the experiment in its own, as ``resume=true`` does.

It returns a :class:`~dlzoo.run.result.Result` of that directory; ``dlzoo.load(RUN)``
gives the same for a run trained earlier or elsewhere, and ``dlzoo.compare`` puts
several side by side. ``dlzoo.datamodule("video_conv3d")`` is the data such a run
trains on, set up as the run sets it up, to look at before training anything.

A net class registered in the notebook (``@register_model("tiny")``) is ``model=tiny``
here with no YAML (:func:`dlzoo.config.compose.store_own_models`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from dlzoo.run.result import Result, compare, load

__all__ = ["Result", "command_line", "compare", "datamodule", "fit", "load"]

# what Hydra reads unquoted in a value; anything else is quoted
_PLAIN = re.compile(r"[\w.:/+\-@~]*")


def _value(value: Any) -> str:
    """A Python value as Hydra's override grammar writes it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Sequence) and not isinstance(value, str):
        return "[" + ",".join(_value(v) for v in value) + "]"
    text = str(value)
    if _PLAIN.fullmatch(text) or text.startswith("${"):
        return text
    escaped = text.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def _flat(key: str, value: Any) -> Iterator[str]:
    """``key=value`` overrides, a mapping flattened to ``key.sub=value``."""
    if isinstance(value, Mapping):
        for sub, inner in value.items():
            yield from _flat(f"{key}.{sub}", inner)
    else:
        yield f"{key}={_value(value)}"


def command_line(
    experiment: str | None, overrides: Sequence[str], values: Mapping[str, Any]
) -> list[str]:
    """The ``dlzoo-train`` overrides that :func:`fit`'s arguments stand for.

    Args:
        experiment: an experiment's name (``experiment=NAME``), an override, or ``None``.
        overrides: command-line overrides, as they are.
        values: config keys as keywords: a value as Hydra reads it (``seed=0``,
            ``optimizer="sgd"`` chooses a group option, ``resume=True``), a dict
            flattened to dotted keys (``trainer={"max_epochs": 3}``).

    Returns:
        The experiment first, then ``overrides``, then ``values`` (later ones win).
    """
    line = []
    if experiment:
        line.append(experiment if "=" in experiment else f"experiment={experiment}")
    line.extend(str(o) for o in overrides)
    for key, value in values.items():
        line.extend(_flat(key, value))
    return line


def fit(experiment: str | None = None, *overrides: str, **values: Any) -> Result:
    """Train one experiment as ``dlzoo-train`` does and return its result.

    Args:
        experiment: the exercise, e.g. ``"digits_cnn"`` (``conf/experiment/*.yaml``);
            ``None``: ``train.yaml``'s default.
        *overrides: as on the command line: ``"model.dropout=0.2"``, ``"optimizer=sgd"``.
        **values: config keys as keywords (see :func:`command_line`): ``seed=0``,
            ``trainer={"max_epochs": 3}``, ``paths={"log_dir": "runs"}``.

    Returns:
        The run's :class:`~dlzoo.run.result.Result`: ``metrics``, ``history``,
        ``run_dir``, ``task`` and ``net`` (best checkpoint, eval mode), ``predict``
        and ``plot``.

    Raises:
        ConfigError, DataError, TrainingError: bad input, in one line, before or while
            training (no traceback is needed to read them).
    """
    from dlzoo.config.compose import compose_config
    from dlzoo.config.preflight import preflight
    from dlzoo.run.pipeline import train

    line = preflight(command_line(experiment, overrides, values))
    cfg = compose_config(line)  # claims this run's new directory
    train(cfg)
    return load(cfg.paths.output_dir)


def datamodule(experiment: str | None = None, *overrides: str, **values: Any) -> Any:
    """An experiment's datamodule, set up as its run would set it up, without training.

    The same config as :func:`fit` with the same arguments, so the same seeded split
    and the preprocessing fitted on the same training split; nothing is written.

    Args:
        experiment: the exercise, e.g. ``"video_conv3d"``; ``None``: the default.
        *overrides: as on the command line: ``"data.num_clips=300"``.
        **values: config keys as keywords, as :func:`fit` takes them.

    Returns:
        The ``LightningDataModule`` after ``prepare_data()`` and ``setup("fit")``:
        ``next(iter(dm.train_dataloader()))`` is a training batch.

    Raises:
        ConfigError, DataError: bad overrides or data, in one line.
    """
    import lightning as L
    from hydra.utils import instantiate

    from dlzoo.config.compose import compose_plain
    from dlzoo.config.overrides import check_overrides

    line = command_line(experiment, overrides, values)
    cfg = check_overrides(line) or compose_plain(line)
    if cfg.get("seed") is not None:
        L.seed_everything(int(cfg.seed), workers=True, verbose=False)
    data = instantiate(cfg.data, _convert_="all")
    data.prepare_data()
    data.setup("fit")
    return data
