"""dlzoo-runs: every run under a folder in one table, sorted, as text, Markdown or CSV."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dlzoo.cli.runs import main
from dlzoo.errors import ConfigError
from dlzoo.run.runs_table import collect, render


def _run(root: Path, name: str, overrides: list[str], metrics: dict | None) -> Path:
    run = root / name
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "config.yaml").write_text("task_name: fallback\n")
    (run / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    if metrics is not None:
        (run / "metrics.json").write_text(json.dumps(metrics))
    return run


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    root = tmp_path / "logs"
    base = {"test/baseline_majority_acc": 0.1}
    _run(
        root,
        "a",
        ["experiment=digits_cnn", "optimizer.lr=0.01", "paths.log_dir=/x"],
        {"test": {"test/acc": 0.9, **base}, "best_epoch": 7, "fit_seconds": 2.5},
    )
    _run(root, "b", ["experiment=digits_mlp"], {"test": {"test/acc": 0.95, **base}})
    _run(root, "c", ["experiment=digits_cnn"], None)  # interrupted: no metrics.json
    cv = _run(
        root,
        "d",
        ["experiment=mutag_gin"],
        {"test": {"test/acc": 0.8}, "test_std": {"test/acc": 0.05}, "cv_folds": 2},
    )
    for k in range(2):  # its folds are runs too, but inside the summary's row
        (cv / f"fold_{k}").mkdir()
        (cv / f"fold_{k}" / "metrics.json").write_text(json.dumps({"test": {"test/acc": 0.8}}))
    _run(root, "e", [], {"test": {"test/mase": 0.5}})  # no experiment override
    return root


def test_one_row_per_run_with_its_experiment_overrides_and_status(logs: Path) -> None:
    rows = {r.run: r for r in collect(logs)}
    assert sorted(rows) == ["a", "b", "c", "d", "e"]
    assert rows["a"].experiment == "digits_cnn" and rows["a"].overrides == "optimizer.lr=0.01"
    assert rows["c"].status == "unfinished" and rows["a"].status == "ok"
    assert rows["e"].experiment == "fallback"  # the config's task_name
    cells = rows["d"].cells()
    assert cells["value"] == "0.8 ± 0.05" and cells["best_epoch"] == "2 folds"
    assert rows["a"].cells()["baselines"] == "majority_acc 0.1"


def testsort_rowsing_by_a_metric_puts_runs_without_it_last(logs: Path) -> None:
    from dlzoo.run.runs_table import sort_rows

    order = [r.run for r in sort_rows(collect(logs), "test/acc")]
    assert order[:3] == ["b", "a", "d"] and set(order[3:]) == {"c", "e"}
    assert [r.run for r in sort_rows(collect(logs), "-test/acc")][:3] == ["d", "a", "b"]
    with pytest.raises(ConfigError, match="sort=test/f9: no run reports it"):
        sort_rows(collect(logs), "test/f9")


def test_csv_and_markdown_hold_the_same_cells(logs: Path) -> None:
    rows = collect(logs)
    table = list(csv.DictReader(io.StringIO(render(rows, "csv"))))
    assert [r["run"] for r in table] == ["a", "b", "c", "d", "e"]
    assert table[0]["fit_s"] == "2.5" and table[0]["value"] == "0.9"
    markdown = render(rows, "markdown").splitlines()
    assert markdown[0].startswith("| run | experiment |") and len(markdown) == 2 + 5
    with pytest.raises(ConfigError, match="format=html"):
        render(rows, "html")


def test_the_command_takes_a_folder_and_refuses_a_missing_one(logs: Path, tmp_path: Path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    ok = subprocess.run(
        [sys.executable, "-m", "dlzoo.cli.runs", str(logs), "sort=test/acc"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines()[1].split()[0] == "b"
    bad = subprocess.run(
        [sys.executable, "-m", "dlzoo.cli.runs", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'nope'} is not a directory: give dir=LOGS (a folder of runs)"
    ]


def test_main_prints_the_table(logs: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(sys, "argv", ["dlzoo-runs", f"dir={logs}", "format=markdown"])
    main()
    assert "| d | mutag_gin |" in capsys.readouterr().out


def test_failed_and_pruned_trials_show_their_status_and_error(tmp_path: Path) -> None:
    root = tmp_path / "sweep"
    _run(root, "0_lr=1", ["lr=1"], {"test": {"test/acc": 0.5}, "status": "pruned"})
    failed = _run(root, "1_lr=9", ["lr=9", "+callbacks.optuna_pruning={trial_id:1}"], None)
    error = {"status": "failed", "error": "ValueError: lr too big", "optimized_value": None}
    (failed / "error.json").write_text(json.dumps(error))
    table = list(csv.DictReader(io.StringIO(render(collect(root), "csv"))))
    assert [(r["status"], r["error"]) for r in table] == [
        ("pruned", ""),
        ("failed", "ValueError: lr too big"),
    ]
    assert table[1]["overrides"] == "lr=9"  # the sweeper's bookkeeping is not shown


def _history(run: Path, rows: list[dict]) -> None:
    columns = list(dict.fromkeys(k for r in rows for k in r))
    with open(run / "history.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture
def histories(logs: Path) -> Path:
    """history.csv for a, b (val/acc per epoch), d's folds (their mean is d's line) and
    e (a forecast: no val/acc); c is unfinished and has none."""
    _history(logs / "a", [{"epoch": 1, "val/acc": 0.5}, {"epoch": 2, "val/acc": 0.7}])
    _history(logs / "b", [{"epoch": 1, "val/acc": 0.6}, {"epoch": 2, "val/acc": ""}])
    for k, values in enumerate(([0.2, 0.4, 0.6], [0.4, 0.6])):  # fold 1 stopped early
        rows = [{"epoch": e + 1, "val/acc": v} for e, v in enumerate(values)]
        _history(logs / "d" / f"fold_{k}", rows)
    _history(logs / "e", [{"epoch": 1, "val/mase": 0.9}])
    return logs


def test_plot_draws_a_line_per_run_with_the_metric(histories: Path) -> None:
    from dlzoo.run.runs_plot import runs_figure

    (ax,) = runs_figure(histories, "val/acc").axes
    lines = {line.get_label(): line for line in ax.get_lines()}
    # labelled by experiment and the overrides that differ between the runs
    assert set(lines) == {"digits_cnn optimizer.lr=0.01", "digits_mlp", "mutag_gin"}
    assert list(lines["digits_mlp"].get_ydata()) == [0.6]  # an epoch without it: left out
    assert list(lines["mutag_gin"].get_xdata()) == [1, 2, 3]
    assert list(lines["mutag_gin"].get_ydata()) == pytest.approx([0.3, 0.5, 0.6])
    assert ax.get_ylabel() == "val/acc"


def test_the_command_writes_the_png_and_refuses_a_metric_no_run_has(
    histories: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    from matplotlib.image import imread

    monkeypatch.setattr(sys, "argv", ["dlzoo-runs", str(histories), "plot=val/acc"])
    main()
    path = Path(capsys.readouterr().out.strip())
    assert path == histories / "runs_val_acc.png" and imread(path).shape[2] in (3, 4)
    chosen = tmp_path / "out" / "acc.png"
    monkeypatch.setattr(sys, "argv", ["dlzoo-runs", str(histories), "plot=val/acc",
                                      f"plot_file={chosen}"])  # fmt: skip
    main()
    assert capsys.readouterr().out.strip() == str(chosen) and chosen.is_file()
    monkeypatch.setattr(sys, "argv", ["dlzoo-runs", str(histories), "plot=val/f9"])
    with pytest.raises(SystemExit) as stopped:
        main()
    assert stopped.value.code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"error: plot=val/f9: no run under {histories} has it per epoch")
    assert "val/acc, val/mase" in line
