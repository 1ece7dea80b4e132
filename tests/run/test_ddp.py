"""``trainer=ddp_cpu``: two processes on the CPU make one run, tested on the whole split.

The run goes through the CLI in a subprocess: Lightning's launcher starts the second
process by re-running the command line, which must be ``scripts/train.py``'s (pytest's
own could not be). A probe callback (written next to the run, passed as
``+callbacks.probe``) records on each rank what that rank saw.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "train.py"

PROBE = textwrap.dedent(
    '''
    """Per-rank record of a DDP run, saved as rank<R>.pt (read by tests/run/test_ddp.py)."""
    import os
    from pathlib import Path

    import lightning as L
    import torch


    class Probe(L.Callback):
        def __init__(self, out: str) -> None:
            self.out = Path(out)
            self.seen = {"train": [], "test": []}
            self.threads = None
            self.metrics = {}
            self.fit_val = {}

        def on_fit_start(self, trainer, pl_module):
            self.threads = torch.get_num_threads()

        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            epoch = trainer.current_epoch
            self.seen.setdefault(f"train{epoch}", []).append(batch[0].flatten(1).clone())

        def on_validation_end(self, trainer, pl_module):
            if trainer.state.fn == "fit":  # the number the best checkpoint is chosen by
                epoch = trainer.current_epoch + 1
                self.fit_val[epoch] = float(trainer.callback_metrics["val/loss"])

        def on_test_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0):
            self.seen["test"].append(batch[0].flatten(1).clone())

        def on_test_end(self, trainer, pl_module):
            self.metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
            split = {s: trainer.datamodule.tensors[s][0].flatten(1) for s in ("train", "test")}
            torch.save(
                {
                    "rank": trainer.global_rank,
                    "world": trainer.world_size,
                    "threads": self.threads,
                    "omp": os.environ.get("OMP_NUM_THREADS"),
                    "seen": {k: torch.cat(v) for k, v in self.seen.items() if v},
                    "metrics": self.metrics,
                    "fit_val": self.fit_val,
                    "split": split,
                },
                self.out / f"rank{trainer.global_rank}.pt",
            )
    '''
)


def _rows(x: torch.Tensor) -> list[tuple[float, ...]]:
    """The samples of ``x`` as a sorted list (a multiset: digits has equal images)."""
    return sorted(map(tuple, x.tolist()))


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    """One 2-epoch ``digits_cnn`` run with ``trainer=ddp_cpu``; its log dir and probes."""
    tmp = tmp_path_factory.mktemp("ddp")
    (tmp / "ddp_probe.py").write_text(PROBE)
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tmp), env.get("PYTHONPATH")]))
    command = [
        sys.executable,
        str(SCRIPT),
        "experiment=digits_cnn",
        "trainer=ddp_cpu",
        "trainer.max_epochs=2",
        "~callbacks.early_stopping",
        f"paths.log_dir={tmp / 'logs'}",
        "+callbacks.probe._target_=ddp_probe.Probe",
        f"+callbacks.probe.out={tmp}",
    ]
    done = subprocess.run(command, cwd=tmp, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    probes = [torch.load(tmp / f"rank{r}.pt", weights_only=False) for r in (0, 1)]
    return tmp / "logs", probes


def test_one_run_directory_and_one_metrics_json(ddp_run: tuple[Path, list[dict]]) -> None:
    logs, probes = ddp_run
    assert [p["world"] for p in probes] == [2, 2]
    runs = list((logs / "digits_cnn" / "runs").iterdir())
    assert len(runs) == 1, runs
    assert [p.parent for p in logs.rglob("metrics.json")] == runs
    run = runs[0]
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["best.ckpt", "last.ckpt"]
    assert sorted(p.name for p in (run / ".hydra").iterdir()) == [
        "config.yaml",
        "hydra.yaml",
        "overrides.yaml",
    ]
    assert [p.name for p in run.glob("*.log")] == ["digits_cnn.log"]
    log = (run / "digits_cnn.log").read_text()
    # rank zero's log alone: one result line, no line of the other rank
    assert log.count("result: ") == 1
    assert "GLOBAL_RANK: 1" not in log
    assert len(list((run / "tensorboard").glob("hparams.yaml"))) == 1


def test_threads_do_not_oversubscribe(ddp_run: tuple[Path, list[dict]]) -> None:
    # Lightning's launcher gives each of the 2 processes cores // 2 threads (the run
    # starts without OMP_NUM_THREADS); metrics.json records what rank zero trained with
    cpus = len(os.sched_getaffinity(0))
    logs, probes = ddp_run
    assert [p["threads"] for p in probes] == [max(1, cpus // 2)] * 2
    (metrics,) = logs.rglob("metrics.json")
    assert json.loads(metrics.read_text())["threads"] == probes[0]["threads"]


def test_every_training_sample_once_per_epoch(ddp_run: tuple[Path, list[dict]]) -> None:
    _, (rank0, rank1) = ddp_run
    train = _rows(rank0["split"]["train"])
    for epoch in ("train0", "train1"):
        first, second = rank0["seen"][epoch], rank1["seen"][epoch]
        assert len(first) == len(second)  # DDP steps together
        assert _rows(torch.cat([first, second])) == train
    # a new permutation each epoch
    assert not torch.equal(rank0["seen"]["train0"], rank0["seen"]["train1"])


def test_test_metrics_are_the_whole_split(ddp_run: tuple[Path, list[dict]]) -> None:
    logs, (rank0, rank1) = ddp_run
    (run,) = (logs / "digits_cnn" / "runs").iterdir()
    test = rank0["split"]["test"]
    # the ranks test disjoint halves that together are the test split
    assert _rows(torch.cat([rank0["seen"]["test"], rank1["seen"]["test"]])) == _rows(test)
    metrics = json.loads((run / "metrics.json").read_text())
    # synced: both ranks hold the global value, the one metrics.json records
    assert rank0["metrics"]["test/acc"] == rank1["metrics"]["test/acc"]
    assert metrics["test"]["test/acc"] == pytest.approx(rank0["metrics"]["test/acc"])
    # the model validated during fit is the model saved: the ranks' batch norm
    # statistics are averaged before validating (dlzoo.callbacks.ddp)
    best = rank0["fit_val"][metrics["best_epoch"]]
    assert metrics["val"]["val/loss"] == pytest.approx(best, abs=1e-6)
    accuracy = _checkpoint_accuracy(run)
    assert metrics["test"]["test/acc"] == pytest.approx(accuracy, abs=1e-6)


def _checkpoint_accuracy(run: Path) -> float:
    """The best checkpoint's accuracy on the whole test split, computed here."""
    from dlzoo.run.rebuild import rebuild

    rebuilt = rebuild(run, setup_data=True, trainer=False)
    x, y = rebuilt.datamodule.tensors["test"][:2]
    with torch.no_grad():
        predicted = rebuilt.task(x).argmax(1)
    return float((predicted == y).float().mean())


def _cli(command: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """A console script of this venv, as a user runs it."""
    exe = Path(sys.executable).with_name(command)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [str(exe), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_a_ddp_run_is_scored_again_on_one_cpu(
    ddp_run: tuple[Path, list[dict]], caplog: pytest.LogCaptureFixture
) -> None:
    """The laptop case: trainer=cpu on the command line, or nothing at all (the run's
    devices=2 and strategy=ddp fall back to one device, with a note)."""
    import logging

    from dlzoo.run.evaluate import evaluate

    logs, _ = ddp_run
    (run,) = (logs / "digits_cnn" / "runs").iterdir()
    want = json.loads((run / "metrics.json").read_text())
    done = _cli("dlzoo-eval", f"run_dir={run}", "trainer=cpu", cwd=logs)
    assert "note:" not in done.stderr  # trainer=cpu is one device: nothing falls back
    chosen = Path(done.stdout.split("evaluation: ")[1].split()[0])
    with caplog.at_level(logging.WARNING, logger="dlzoo.run.rebuild"):
        default = evaluate(run)
    (note,) = [r.getMessage() for r in caplog.records if r.name == "dlzoo.run.rebuild"]
    assert "asks for devices=2, strategy=ddp: running on one cpu device" in note
    for path in (chosen, default):
        got = json.loads(path.read_text())
        assert got["trainer"]["devices"] == 1
        for split in ("val", "test"):
            assert got[split] == pytest.approx(want[split], abs=1e-6), (path, split)


def test_a_ddp_run_predicts_the_same_in_any_batch_size(
    ddp_run: tuple[Path, list[dict]], tmp_path: Path
) -> None:
    from PIL import Image
    from sklearn.datasets import load_digits

    from dlzoo.run.predict import predict

    logs, _ = ddp_run
    (run,) = (logs / "digits_cnn" / "runs").iterdir()
    (tmp_path / "images").mkdir()
    for i, image in enumerate(load_digits().images[:20]):  # 3 batches of 7
        pixels = (image * 255 / 16).round().astype("uint8")
        Image.fromarray(pixels).save(tmp_path / "images" / f"{i:02d}.png")
    args = (f"run_dir={run}", "trainer=cpu", "data.batch_size=7", f"input={tmp_path / 'images'}")
    _cli("dlzoo-predict", *args, f"output={tmp_path / 'sevens.csv'}", cwd=tmp_path)
    default = predict(run, tmp_path / "images", tmp_path / "default.csv")["predictions"]
    rows = [r.split(",") for r in (tmp_path / "sevens.csv").read_text().splitlines()[1:]]
    assert len(rows) == 20
    assert [int(r[1]) for r in rows] == default.argmax(1).tolist()
    sevens = torch.tensor([[float(p) for p in r[2:]] for r in rows])
    # the CSV writes 6 significant digits; a batch size changes the last bits only
    assert torch.allclose(sevens, default, atol=1e-5)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_two_node_torchrun_makes_one_run(tmp_path: Path) -> None:
    """Two torchrun agents (two "nodes" of one process each, as in the README) compose
    their configs apart and still write one run directory, named by the rdzv id."""
    torchrun = Path(sys.executable).with_name("torchrun")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    port = _free_port()
    command = [
        str(torchrun),
        "--nnodes=2",
        "--nproc-per-node=1",
        "--rdzv-backend=c10d",
        f"--rdzv-endpoint=127.0.0.1:{port}",
        "--rdzv-id=test42",
        str(SCRIPT),
        "experiment=digits_cnn",
        "trainer=ddp",
        "trainer.accelerator=cpu",
        "trainer.devices=1",
        "trainer.num_nodes=2",
        "trainer.max_epochs=1",
        f"paths.log_dir={tmp_path}",
    ]
    nodes = [
        subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        for _ in range(2)
    ]
    outputs = [node.communicate(timeout=240)[0].decode() for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], outputs[0][-2000:] + outputs[1][-2000:]
    runs = list((tmp_path / "digits_cnn" / "runs").iterdir())
    assert [r.name for r in runs] == ["torchrun-test42"]
    assert len(list(tmp_path.rglob("metrics.json"))) == 1
    log = (runs[0] / "digits_cnn.log").read_text()
    assert log.count("result: ") == 1
    assert "GLOBAL_RANK: 1" not in log
