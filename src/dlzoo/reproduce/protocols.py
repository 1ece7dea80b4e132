"""The protocols ``dlzoo-reproduce`` runs, kept as config (``conf/reproduce.yaml``).

A protocol is an experiment with overrides, repeated over seeds (or cross-validated by
its experiment), the metric it is judged on, the published number for the same net on
the same data with its source, and the tolerance (the paper's reported standard
deviation, or 0.02 where it gives none). A protocol without a published number is
judged against its baselines only. ``budget`` holds the overrides that shorten it on a
CPU (``dlzoo-reproduce budget=true``); the table says when they were used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from dlzoo.errors import ConfigError

__all__ = [
    "DEFAULT_TOLERANCE",
    "PROTOCOLS_FILE",
    "Protocol",
    "load_protocols",
    "page_title",
    "protocol_file",
    "select",
]

PROTOCOLS_FILE = Path(__file__).resolve().parents[1] / "conf" / "reproduce.yaml"
DEFAULT_TOLERANCE = 0.02
SELECTIONS = ("checkpoint", "best_mean_epoch")


@dataclass
class Protocol:
    """One row of the reproduction table.

    Args:
        name: the row's short name (``only=`` takes it).
        title: what the row says (``GunPoint, FCN``).
        experiment: ``conf/experiment/<experiment>.yaml``.
        overrides: more command-line overrides.
        seeds: runs with seeds 0 .. seeds-1 (``seeds=N``); 1 runs the experiment once
            (a cross-validated experiment is then its folds' mean).
        metric: the ``metrics.json`` test metric judged (``test/acc``).
        mode: ``max`` (higher is better) or ``min`` (``test/mase``).
        published: the published number, ``None`` where there is none.
        std: the published standard deviation, the tolerance when given.
        source: where the number is published.
        baselines: the test metrics shown as baselines; empty: every ``baseline_`` one.
        against: earlier protocols whose mean counts as a baseline of this one.
        selection: ``checkpoint`` (the run's own: validation picks the checkpoint) or
            ``best_mean_epoch`` (the published protocol's epoch of the best mean test
            score over folds; the run's own is shown beside it).
        budget: overrides that shorten the protocol under ``budget=true``.
        note: what a reader should know beside the number.
    """

    name: str
    title: str
    experiment: str
    metric: str = "test/acc"
    overrides: list[str] = field(default_factory=list)
    seeds: int = 5
    mode: str = "max"
    published: float | None = None
    std: float | None = None
    source: str = ""
    baselines: list[str] = field(default_factory=list)
    against: list[str] = field(default_factory=list)
    selection: str = "checkpoint"
    budget: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def tolerance(self) -> float:
        """The published standard deviation, or :data:`DEFAULT_TOLERANCE`."""
        return DEFAULT_TOLERANCE if self.std is None else float(self.std)

    def command(self, budget: bool) -> list[str]:
        """The ``dlzoo-train`` overrides of this protocol."""
        line = [f"experiment={self.experiment}", *self.overrides]
        if self.seeds > 1:
            line.append(f"seeds={self.seeds}")
        return [*line, *self.budget] if budget else line


def _protocol(entry: Any, where: str, names: set[str]) -> Protocol:
    """One entry of the file as a :class:`Protocol`, its values checked."""
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: a protocol is a mapping (name: ..., experiment: ...)")
    known = set(Protocol.__dataclass_fields__)
    unknown = sorted(set(entry) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; valid: {', '.join(sorted(known))}")
    try:
        protocol = Protocol(**entry)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if protocol.mode not in ("max", "min") or protocol.selection not in SELECTIONS:
        raise ConfigError(
            f"{where}: mode is max or min and selection one of {', '.join(SELECTIONS)}"
        )
    missing = [a for a in protocol.against if a not in names]
    if missing:
        raise ConfigError(f"{where}: against={missing[0]!r} names no earlier protocol")
    seeds = protocol.seeds
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ConfigError(f"{where}: seeds={seeds!r} must be an integer >= 1")
    if protocol.selection == "best_mean_epoch" and seeds != 1:
        raise ConfigError(f"{where}: selection=best_mean_epoch is one cross-validation: seeds: 1")
    return protocol


def protocol_file(given: str | Path) -> Path:
    """``given`` as a path, or a file shipped in dlzoo's config tree by its name
    (``reproduce``: the published protocols; ``zoo``: every classifier's default).

    Raises:
        ConfigError: neither exists.
    """
    path = Path(given)
    if path.is_file():
        return path
    shipped = PROTOCOLS_FILE.parent / f"{given}.yaml"
    if path.suffix or len(path.parts) > 1 or not shipped.is_file():
        raise ConfigError(
            f"no protocol file {given}: give protocols=PATH of a YAML file, or a shipped "
            "one by name (reproduce, zoo)"
        )
    return shipped


def load_protocols(path: str | Path = PROTOCOLS_FILE) -> list[Protocol]:
    """Every protocol of ``path`` (see :func:`protocol_file`), in its order.

    Raises:
        ConfigError: a missing file, a duplicate name, or a bad entry (naming it).
    """
    path = protocol_file(path)
    entries = OmegaConf.to_container(OmegaConf.load(path)).get("protocols") or []
    out: list[Protocol] = []
    for i, entry in enumerate(entries):
        where = f"{path.name}: protocols[{i}]"
        protocol = _protocol(entry, where, {p.name for p in out})
        if protocol.name in {p.name for p in out}:
            raise ConfigError(f"{where}: another protocol is named {protocol.name!r}")
        out.append(protocol)
    return out


def page_title(path: str | Path = PROTOCOLS_FILE) -> str:
    """The heading of the table a protocol file gives: its ``title`` key, or
    ``Reproduction``."""
    return str(OmegaConf.load(protocol_file(path)).get("title") or "Reproduction")


def select(protocols: list[Protocol], only: str) -> list[Protocol]:
    """The protocols named in ``only`` (comma-separated), with those they compare
    against, in the file's order; all of them for an empty ``only``.

    Raises:
        ConfigError: a name that is no protocol, listing the valid ones.
    """
    if not only:
        return protocols
    by_name = {p.name: p for p in protocols}
    wanted = {n.strip() for n in only.split(",") if n.strip()}
    unknown = sorted(wanted - set(by_name))
    if unknown:
        raise ConfigError(f"only={unknown[0]!r} is no protocol; valid: {', '.join(by_name)}")
    for protocol in reversed(protocols):  # against names earlier ones: one pass back
        if protocol.name in wanted:
            wanted.update(protocol.against)
    return [p for p in protocols if p.name in wanted]
