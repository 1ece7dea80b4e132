"""A DDP run (``trainer=ddp_cpu``: two real processes, gloo) whose rank 1 is killed
mid-training: rank 0 stops within seconds with one ``error:`` line that names the lost
rank, the run directory, the last checkpoint and the ``resume=true`` command, and exits
1; that command continues under ``trainer=ddp_cpu`` to the metrics of the same run
uninterrupted (deterministic). Also the pieces: which errors mean a lost peer, and which
recorded ranks are gone."""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.training import train_process

from dlzoo.callbacks.ranks import RANKS_DIR, lost_ranks
from dlzoo.run.lost_rank import is_lost_peer

LINE = re.compile(
    r"error: lost rank 1 \(process (\d+)\) of 2 at step (\d+) \(epoch (\d+)/4\), in run "
    r"(\S+): the last checkpoint is (\S+); continue with: (dlzoo-train .*)"
)
STEP = 12  # in epoch 2: 1257 training digits, 64 a batch on each of 2 ranks


@pytest.mark.slow
@pytest.mark.ci
def test_a_lost_rank_is_one_line_and_resume_matches_uninterrupted(tmp_path: Path) -> None:
    common = [
        "experiment=digits_cnn",
        "trainer=ddp_cpu",
        "trainer.max_epochs=4",
        "logger=none",
        "callbacks.last_checkpoint.min_interval_s=0",  # a last.ckpt after every epoch
        "+callbacks.kill._target_=killer.KillAtStep",
        f"+callbacks.kill.step={STEP}",
        "+callbacks.kill.rank=1",
    ]
    whole = train_process(tmp_path / "whole", *common)
    assert whole.returncode == 0, whole.stderr[-3000:]
    start = time.monotonic()
    lost = train_process(tmp_path / "lost", *common, kill=True)
    assert time.monotonic() - start < 120
    assert lost.returncode == 1, lost.stderr[-3000:]
    errors = [line for line in lost.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and "Traceback" not in lost.stderr, lost.stderr[-3000:]
    assert "HYDRA_FULL_ERROR" not in lost.stderr
    match = LINE.fullmatch(errors[0])
    assert match, errors[0]
    _, step, epoch, run, checkpoint, command = match.groups()
    assert (int(step), int(epoch)) == (STEP, 2)
    assert Path(checkpoint) == Path(run) / "checkpoints" / "last.ckpt"
    assert Path(checkpoint).is_file() and not (Path(run) / "metrics.json").exists()

    resumed = train_process(tmp_path / "lost", *shlex.split(command)[1:])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    got = json.loads((Path(run) / "metrics.json").read_text())
    (whole_run,) = (tmp_path / "whole" / "digits_cnn" / "runs").iterdir()
    want = json.loads((whole_run / "metrics.json").read_text())
    assert got["epochs"] == want["epochs"] == 4
    assert got["global_steps"] == want["global_steps"]
    assert got["val"] == pytest.approx(want["val"], rel=1e-6, abs=1e-7)
    assert got["test"] == pytest.approx(want["test"], rel=1e-6, abs=1e-7)


@pytest.mark.parametrize(
    ("message", "lost"),
    [
        ("[../gloo/transport/tcp/pair.cc:537] Read error [127.0.0.1]:53475: Connection "
         "reset by peer. This is typically caused by a remote worker hanging", True),
        ("[../gloo/transport/tcp/pair.cc:598] Connection closed by peer [10.0.0.2]:4242", True),
        ("NCCL communicator was aborted on rank 0.", True),
        ("mat1 and mat2 shapes cannot be multiplied (64x10 and 12x3)", False),
    ],
)  # fmt: skip
def test_errors_of_a_lost_peer_are_told_from_the_others(message: str, lost: bool) -> None:
    assert is_lost_peer(RuntimeError(message)) is lost
    assert not is_lost_peer(ValueError(message))


def test_lost_ranks_are_the_recorded_processes_of_this_host_that_ended(tmp_path: Path) -> None:
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()  # reaped: its pid names no process now
    folder = tmp_path / RANKS_DIR
    folder.mkdir()
    host = socket.gethostname()
    (folder / "0").write_text(f"{host} {os.getpid()}\n")  # alive: this process
    (folder / "1").write_text(f"{host} {ended.pid}\n")
    (folder / "2").write_text(f"another-host {ended.pid}\n")  # cannot be checked here
    assert lost_ranks(tmp_path, world_size=4) == [(1, ended.pid)]  # rank 3 never recorded
