"""The command line as a user meets it: exit codes, one-line errors, run directories."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

TRAIN = [sys.executable, str(REPO / "scripts" / "train.py")]
# urllib honours these: every download fails at once, as it does offline
OFFLINE = {"http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9"}


def run(args: list[str], tmp_path: Path, cwd: Path | None = None, **env: str):
    environment = {
        **os.environ,
        "DLZOO_LOG_DIR": str(tmp_path / "logs"),
        "DLZOO_DATA_DIR": str(tmp_path / "data"),
        **env,
    }
    return subprocess.run(
        args, cwd=cwd or tmp_path, env=environment, capture_output=True, text=True, timeout=300
    )


def written_metrics(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "logs").rglob("metrics.json"))


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_console_script_trains_from_any_directory(tmp_path: Path) -> None:
    exe = shutil.which("dlzoo-train", path=str(Path(sys.executable).parent))
    assert exe, "dlzoo-train is not installed next to this python"
    proc = run([exe, "debug=limit", "logger=csv"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    run_dir = Path(proc.stdout.split("run directory: ")[1].split()[0])
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["model"] == "cnn" and metrics["data"] == "digits"
    # no experiment given: the documented default, digits_cnn
    assert run_dir.is_relative_to(tmp_path / "logs" / "digits_cnn" / "runs")
    log = (run_dir / "digits_cnn.log").read_text()
    assert "epoch 1/" in log and "result: test/acc" in log and "baselines:" in log
    assert (run_dir / "csv" / "metrics.csv").is_file()


def test_unknown_key_lists_the_valid_keys(tmp_path: Path) -> None:
    proc = run([*TRAIN, "experiment=digits_mlp", "model.hidden_size=64"], tmp_path)
    assert proc.returncode == 2
    (line,) = error_lines(proc.stderr)
    assert "unknown key 'model.hidden_size'" in line and "hidden_sizes" in line
    assert not (tmp_path / "logs").exists()


def test_incompatible_pair_exits_with_one_line(tmp_path: Path) -> None:
    proc = run([*TRAIN, "+model.image_size=[28,28]"], tmp_path)
    assert proc.returncode == 2, proc.stderr[-2000:]
    (line,) = error_lines(proc.stderr)
    assert "model 'cnn'" in line and "data 'digits'" in line
    assert "Traceback" not in proc.stderr
    assert not written_metrics(tmp_path)
    assert not list((tmp_path / "logs").rglob(".hydra")), "the failed run left its folder"


def test_missing_dataset_offline_exits_with_one_line(tmp_path: Path) -> None:
    proc = run([*TRAIN, "data=fashion_mnist"], tmp_path, **OFFLINE)
    assert proc.returncode == 2, proc.stderr[-2000:]
    (line,) = error_lines(proc.stderr)
    assert "fashion" in line.lower() and str(tmp_path / "data") in line
    assert not written_metrics(tmp_path)
    assert not list((tmp_path / "data").rglob("*.gz")), "a partial download was left behind"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["experiment=sunspots_gru", "data.window=400"], "longer than the whole series (309"),
        (["experiment=co2_lstm", "data.impute=null"], "59 missing values"),
        (["experiment=motions_gru", "data.name=Coffee"], "'Coffee' is not a UCR / UEA"),
        (["experiment=sunspots_gru", "data=ucr"], "task 'forecast' does not fit data 'Basic"),
        (["data=sunspots", "model=gru"], "task 'classification' does not fit"),
        (["experiment=sunspots_naive", "data=ucr"], "model 'naive' does not fit data"),
    ],
    ids=["long-window", "nan-no-impute", "unknown-ucr", "forecast-task", "classify-task", "naive"],
)
def test_bad_time_series_input_exits_with_one_line(
    tmp_path: Path, overrides: list[str], expected: str
) -> None:
    proc = run([*TRAIN, *overrides], tmp_path, **OFFLINE)
    assert proc.returncode == 2, proc.stderr[-2000:]
    (line,) = error_lines(proc.stderr)
    assert expected in line, line
    assert "Traceback" not in proc.stderr
    assert not written_metrics(tmp_path)


def test_multirun_sweeps_every_combination(tmp_path: Path) -> None:
    proc = run(
        [
            *TRAIN,
            "-m",
            "debug=limit",
            "logger=none",
            "optimizer.lr=1e-3,3e-3",
            "model.dropout=0,0.2",
        ],
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = written_metrics(tmp_path)
    assert len(found) == 4
    configs = {(p.parent / ".hydra" / "overrides.yaml").read_text() for p in found}
    assert len(configs) == 4


# sktime and statsmodels: only the time-series datamodules that read from them
HEAVY = ("mlflow", "torch_geometric", "ray", "sktime", "statsmodels")


def test_no_heavy_optional_imports_unless_configured(tmp_path: Path) -> None:
    code = (
        "import sys\nfrom dlzoo.cli.train import main\n"
        "sys.argv = ['train', 'debug=limit']\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        f"print('LOADED', sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))\n"
    )
    proc = run([sys.executable, "-c", code], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "LOADED []" in proc.stdout


# loaded only where a run uses them: scikit-learn (and pandas, which it imports) for the
# digits data and the logistic-regression baseline, the time-series readers, ONNX for
# export, the TensorBoard logger (Lightning itself brings scipy and matplotlib)
LAZY = ("sklearn", "pandas", "statsmodels", "sktime", "onnx", "onnxruntime", "tensorboard")
ENTRY_MODULES = (
    "cli.train",
    "run.pipeline",
    "run.build",
    "run.artefacts",
    "cli.evaluate",
    "cli.predict",
    "cli.export",
)


def test_importing_dlzoo_loads_no_optional_heavy_module(tmp_path: Path) -> None:
    imports = "\n".join(f"import dlzoo.{name}" for name in ENTRY_MODULES)
    code = (
        f"import sys\nimport dlzoo\n{imports}\n"
        f"print('LOADED', sorted({{m.split('.')[0] for m in sys.modules}} & set({LAZY!r})))\n"
    )
    proc = run([sys.executable, "-c", code], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "LOADED []" in proc.stdout


def test_preflight_composes_the_command_line_once(tmp_path: Path, monkeypatch) -> None:
    import dlzoo.config.overrides as overrides_module
    from dlzoo.config.preflight import preflight
    from dlzoo.errors import ConfigError

    calls: list[list[str]] = []
    compose = overrides_module.compose_plain
    monkeypatch.setattr(
        overrides_module,
        "compose_plain",
        lambda overrides: calls.append(overrides) or compose(overrides),
    )
    monkeypatch.setenv("DLZOO_LOG_DIR", str(tmp_path / "logs"))
    overrides = ["experiment=digits_mlp", "optimizer.lr=1e-3,3e-3", "hydra.job.chdir=false"]
    assert preflight(overrides) == overrides
    # one composition (a sweep at its first value) served the key check and the log dir
    assert calls == [["experiment=digits_mlp", "optimizer.lr=0.001"]]
    assert (tmp_path / "logs").is_dir()
    calls.clear()
    with pytest.raises(ConfigError, match="resume=true: no run of task 'digits_cnn'"):
        preflight(["resume=true"])
    assert len(calls) == 1


def test_resume_continues_the_run_that_hydra_run_dir_names(tmp_path: Path, monkeypatch) -> None:
    """What a run stopped by a signal prints to continue it: with several runs of the
    task, resume=true alone would take the newest."""
    import dlzoo.config.preflight as train
    from dlzoo.errors import ConfigError

    monkeypatch.setenv("DLZOO_LOG_DIR", str(tmp_path / "logs"))
    runs = tmp_path / "logs" / "digits_cnn" / "runs"
    for name in ("a", "b"):  # b is the newest
        (runs / name / "checkpoints").mkdir(parents=True)
        (runs / name / "checkpoints" / "last.ckpt").write_bytes(b"")
        (runs / name / ".hydra").mkdir()
        (runs / name / ".hydra" / "overrides.yaml").write_text(f"- seed={ord(name)}\n")
    last = runs / "a" / "checkpoints" / "last.ckpt"
    assert train.preflight(["resume=true"])[0] == "seed=98"
    assert train.preflight(["resume=true", f"hydra.run.dir={runs / 'a'}"]) == [
        *("seed=97", "resume=true", f"hydra.run.dir={runs / 'a'}", f"ckpt_path={last}")
    ]
    with pytest.raises(ConfigError, match=r"hydra.run.dir=\S+/c has no checkpoints/last.ckpt"):
        train.preflight(["resume=true", f"hydra.run.dir={runs / 'c'}"])


def test_cli_run_leaves_every_logger_complete(tmp_path: Path) -> None:
    """What is written last (the HPARAMS metrics, the CSV rows, the log's result line)
    is on disk when the process has exited: the quick exit skips no flush."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    proc = run([*TRAIN, "debug=limit", "logger=many"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (metrics,) = written_metrics(tmp_path)
    run_dir = metrics.parent
    events = EventAccumulator(str(run_dir / "tensorboard")).Reload()
    assert {"hparams/test/acc", "val/acc"} <= set(events.Tags()["scalars"])
    assert "test/confusion_matrix" in events.Tags()["images"]
    header = (run_dir / "csv" / "metrics.csv").read_text().splitlines()[0]
    assert "hparams/test/acc" in header.split(",")
    assert "result: test/acc" in (run_dir / "digits_cnn.log").read_text()


@pytest.mark.skipif(
    __import__("importlib").util.find_spec("mlflow") is None, reason="mlflow extra not installed"
)
def test_mlflow_logger(tmp_path: Path) -> None:
    proc = run([*TRAIN, "debug=limit", "logger=mlflow"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    import sqlite3

    db = sqlite3.connect(tmp_path / "logs" / "mlflow.db")
    keys = {row[0] for row in db.execute("SELECT key FROM metrics")}
    params = {row[0] for row in db.execute("SELECT key FROM params")}
    assert {"val/acc", "hparams/test/acc"} <= keys
    assert "optimizer/lr" in params
    assert not (tmp_path / "mlruns").exists()


@pytest.mark.slow
@pytest.mark.ci
def test_ddp_on_two_cpu_processes(tmp_path: Path) -> None:
    proc = run([*TRAIN, "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2",
                "debug=limit", "logger=none"], tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    (found,) = written_metrics(tmp_path)  # rank 0 alone writes it, into one run directory
    metrics = json.loads(found.read_text())
    # each rank takes 3 batches of its half: 2 epochs x 3 steps
    assert metrics["global_steps"] == 6 and "test/acc" in metrics["test"]


@pytest.mark.slow
def test_benchmark_prints_the_three_ratios(tmp_path: Path) -> None:
    bench = [sys.executable, str(REPO / "scripts" / "bench.py"), "--epochs", "2", "--repeats", "1"]
    proc = run(bench, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = {line.split()[0]: line.split()[1:] for line in proc.stdout.splitlines() if line}
    # columns: median s, best s, paired ratio to the floor, val acc
    assert float(rows["floor"][2]) == 1.0 and float(rows["floor+fused"][2]) > 0
    assert float(rows["textbook"][2]) > 0 and float(rows["dlzoo"][2]) > 0
    assert 0 <= float(rows["dlzoo"][3]) <= 1


@pytest.mark.slow
def test_startup_benchmark_prints_both_ratios(tmp_path: Path) -> None:
    bench = [sys.executable, str(REPO / "scripts" / "bench_startup.py"), "--repeats", "1"]
    proc = run(bench, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = {line.split()[0]: line.split()[1:] for line in proc.stdout.splitlines() if line}
    # columns: median s, ratio to import, then every repeat's seconds
    assert float(rows["import"][1]) == 1.0
    assert float(rows["train"][0]) > 0 and float(rows["predict"][0]) > 0
