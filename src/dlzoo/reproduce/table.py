"""A reproduced protocol's outcome, its verdicts and the Markdown table of them all.

The verdict compares dlzoo's mean with the published number: ``within`` its tolerance,
``above`` or ``below`` it (numerically; the protocol's ``mode`` says which is better).
Beside it, whether the mean beats every baseline's (its ``mode`` decides), so a row
without a published number is judged too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dlzoo.reproduce.protocols import Protocol

__all__ = ["Outcome", "beats_baselines", "render", "verdict"]

HEADER = (
    "| protocol | published | dlzoo (mean ± std) | baselines (mean ± std) | beats baselines "
    "| verdict | wall time |"
)


@dataclass
class Outcome:
    """What one protocol's runs gave.

    Args:
        protocol: the protocol.
        mean: the judged metric's mean over seeds (or folds).
        std: its population standard deviation.
        runs: how many runs the mean is over (seeds, or folds).
        seconds: the protocol's wall time.
        run_dir: where its runs are.
        baselines: each baseline's label and ``(mean, std)``.
        also: other selections' ``(mean, std)`` shown beside, by label: with
            ``selection=best_mean_epoch``, each fold's checkpoint picked on its
            validation split, and the last epoch.
    """

    protocol: Protocol
    mean: float
    std: float
    runs: int
    seconds: float
    run_dir: Path
    baselines: dict[str, tuple[float, float]] = field(default_factory=dict)
    also: dict[str, tuple[float, float]] = field(default_factory=dict)


def verdict(outcome: Outcome) -> str:
    """``within`` / ``above`` / ``below`` the published number, ``-`` without one."""
    published = outcome.protocol.published
    if published is None:
        return "-"
    if abs(outcome.mean - published) <= outcome.protocol.tolerance + 1e-9:
        return "within"
    return "above" if outcome.mean > published else "below"


def beats_baselines(outcome: Outcome) -> str:
    """``yes``, or ``no (NAME, ...)`` naming each baseline at least as good."""
    sign = 1 if outcome.protocol.mode == "max" else -1
    losing = [n for n, (m, _) in outcome.baselines.items() if sign * (outcome.mean - m) <= 0]
    if not outcome.baselines:
        return "-"
    return "yes" if not losing else f"no ({', '.join(losing)})"


def _seconds(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


def _row(outcome: Outcome, budget: bool) -> str:
    p = outcome.protocol
    published = "-"
    if p.published is not None:
        spread = f" ± {p.std:.3g}" if p.std is not None else ""
        published = f"{p.published:.3f}{spread} ({p.source})"
    runs = "folds" if p.seeds == 1 else "seeds"
    ours = f"{outcome.mean:.3f} ± {outcome.std:.3f} ({outcome.runs} {runs})"
    ours += "".join(f"; {label}: {m:.3f} ± {sd:.3f}" for label, (m, sd) in outcome.also.items())
    baselines = ", ".join(f"{n} {m:.3f} ± {s:.3f}" for n, (m, s) in outcome.baselines.items())
    command = " ".join(p.command(budget))
    title = f"{p.title} (`{p.metric}`)<br>`{command}`" + (f"<br>{p.note}" if p.note else "")
    cells = [title, published, ours, baselines or "-", beats_baselines(outcome)]
    cells += [verdict(outcome), _seconds(outcome.seconds)]
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def render(outcomes: list[Outcome], budget: bool, command: str, title: str = "Reproduction") -> str:
    """The Markdown page: how it was made, the table, the total wall time.

    Args:
        outcomes: the protocols' outcomes, in order.
        budget: whether the protocols ran with their ``budget`` overrides.
        command: the command line that made it.
        title: the page's heading.
    """
    total = sum(o.seconds for o in outcomes)
    lines = [
        f"# {title}",
        "",
        f"Made by `{command}`. Tolerance: the published standard deviation, or "
        "0.02 where none is given. Means and standard deviations are over seeds 0..N-1 "
        "(or the folds of one cross-validation); checkpoints are picked on validation "
        "only.",
        "",
    ]
    if budget:
        lines += [
            "**Budget run**: every protocol ran with its `budget` overrides (fewer "
            "epochs; the command column shows them), so its numbers are not the "
            "full protocol's.",
            "",
        ]
    lines += [HEADER, "|" + "---|" * HEADER.count(" | ") + "---|"]
    lines += [_row(o, budget) for o in outcomes]
    lines += ["", f"Total wall time: {_seconds(total)}.", ""]
    return "\n".join(lines)
