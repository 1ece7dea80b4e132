"""Verdicts, the baselines' check, the Markdown table, and outcomes read from real
``metrics.json`` layouts (repeated seeds, a cross-validation with the paper's epoch)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dlzoo.errors import TrainingError
from dlzoo.reproduce.protocols import Protocol
from dlzoo.reproduce.runner import outcome_of
from dlzoo.reproduce.table import Outcome, beats_baselines, render, verdict


def _outcome(mean: float, **protocol: object) -> Outcome:
    p = Protocol(name="p", title="P", experiment="x", **protocol)
    return Outcome(protocol=p, mean=mean, std=0.01, runs=5, seconds=75.4, run_dir=Path("r"))


@pytest.mark.parametrize(
    ("mean", "published", "std", "expected"),
    [
        (0.98, 1.0, None, "within"),  # 0.02 from it: the default tolerance, inclusive
        (0.979, 1.0, None, "below"),
        (0.95, 0.894, 0.056, "within"),  # the published std is the tolerance
        (0.951, 0.894, 0.056, "above"),
        (0.5, None, None, "-"),
    ],
)
def test_verdict(mean: float, published: float | None, std: float | None, expected: str) -> None:
    assert verdict(_outcome(mean, published=published, std=std)) == expected


def test_beating_baselines_follows_the_mode() -> None:
    acc = _outcome(0.9)
    acc.baselines = {"logreg_acc": (0.85, 0.0), "majority_acc": (0.9, 0.0)}
    assert beats_baselines(acc) == "no (majority_acc)"  # a tie does not beat it
    mase = _outcome(0.9, mode="min", metric="test/mase")
    mase.baselines = {"naive_mase": (1.2, 0.1), "sunspots_linear": (0.95, 0.0)}
    assert beats_baselines(mase) == "yes"
    assert beats_baselines(_outcome(0.9)) == "-"


def test_the_table_has_a_row_per_protocol_and_says_budget() -> None:
    a = _outcome(0.99, published=1.0, source="Fawaz 2019", budget=["trainer.max_epochs=3"])
    a.baselines = {"logreg_acc": (0.8, 0.02)}
    page = render([a, _outcome(0.5)], budget=True, command="dlzoo-reproduce budget=true")
    lines = page.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| protocol"))
    rows = lines[header + 2 : header + 4]
    assert all(line.count(" | ") == lines[header].count(" | ") for line in rows)
    assert lines[header + 1].count("|") == lines[header].count("|")
    assert "1.000 (Fawaz 2019)" in rows[0] and "0.990 ± 0.010 (5 seeds)" in rows[0]
    assert "`experiment=x seeds=5 trainer.max_epochs=3`" in rows[0]
    assert "logreg_acc 0.800 ± 0.020 | yes | within | 1 min 15 s |" in rows[0]
    assert "**Budget run**" in page and "Total wall time: 2 min 31 s." in page
    assert "**Budget run**" not in render([a], budget=False, command="dlzoo-reproduce")


def _metrics(run_dir: Path, payload: dict) -> Path:
    run_dir.mkdir()
    (run_dir / "metrics.json").write_text(json.dumps(payload))
    return run_dir


def test_an_outcome_from_repeated_seeds(tmp_path: Path) -> None:
    run = _metrics(
        tmp_path / "run",
        {
            "test": {"test/acc": 0.9, "test/baseline_logreg_acc": 0.8, "test/loss": 0.3},
            "test_std": {"test/acc": 0.02, "test/baseline_logreg_acc": 0.01},
            "seeds": [{}, {}, {}],
        },
    )
    earlier = {"lin": _outcome(0.7)}
    p = Protocol(name="p", title="P", experiment="x", against=["lin"])
    out = outcome_of(p, run, 12.0, earlier)
    assert (out.mean, out.std, out.runs, out.also) == (0.9, 0.02, 3, {})
    assert out.baselines == {"logreg_acc": (0.8, 0.01), "lin": (0.7, 0.01)}
    with pytest.raises(TrainingError, match="has no test/f1"):
        outcome_of(Protocol(name="q", title="Q", experiment="x", metric="test/f1"), run, 1, {})


def test_an_outcome_judged_on_the_papers_epoch(tmp_path: Path) -> None:
    run = _metrics(
        tmp_path / "run",
        {
            "test": {"test/acc": 0.85},
            "test_std": {"test/acc": 0.07},
            "folds": [{}] * 10,
            "best_mean_epoch": {"epoch": 120, "test/acc": 0.9, "test_std/acc": 0.05},
            "last_epoch": {"epoch": 350, "test/acc": 0.88, "test_std/acc": 0.06},
        },
    )
    p = Protocol(name="g", title="G", experiment="x", seeds=1, selection="best_mean_epoch")
    out = outcome_of(p, run, 1.0, {})
    assert (out.mean, out.std, out.runs) == (0.9, 0.05, 10)
    assert list(out.also.values()) == [(0.85, 0.07), (0.88, 0.06)]
    row = "each fold's checkpoint by validation: 0.850 ± 0.070; the last epoch: 0.880 ± 0.060"
    assert row in render([out], False, "c")
