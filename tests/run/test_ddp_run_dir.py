"""``${dlzoo.run_name:...}``: every process of a torchrun / srun job gets one run directory;
the run's log file is rank zero's."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from dlzoo.config.compose import compose_config
from dlzoo.config.run_names import is_rank_zero_process, launcher_job_id, run_name
from dlzoo.run.logs import quiet_other_ranks

TIME = "%Y-%m-%d_%H-%M-%S_%f"
LAUNCH_VARIABLES = (
    "TORCHELASTIC_RUN_ID",
    "WORLD_SIZE",
    "SLURM_JOB_ID",
    "SLURM_STEP_ID",
    "SLURM_STEP_NUM_TASKS",
    "RANK",
    "LOCAL_RANK",
    "NODE_RANK",
    "GROUP_RANK",
    "SLURM_PROCID",
)


@pytest.fixture(autouse=True)
def _no_launcher(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in LAUNCH_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"TORCHELASTIC_RUN_ID": "job7", "WORLD_SIZE": "4"}, "torchrun-job7"),
        # a user's id with a slash or a space stays one folder name
        ({"TORCHELASTIC_RUN_ID": "a/b c", "WORLD_SIZE": "2"}, "torchrun-a_b_c"),
        # torchrun's default --rdzv-id is the same for every job: not a name
        ({"TORCHELASTIC_RUN_ID": "none", "WORLD_SIZE": "2"}, None),
        # one process agrees with itself: the time, as without torchrun
        ({"TORCHELASTIC_RUN_ID": "job7", "WORLD_SIZE": "1"}, None),
        (
            {"SLURM_JOB_ID": "123456", "SLURM_STEP_ID": "0", "SLURM_STEP_NUM_TASKS": "8"},
            "slurm-123456.0",
        ),
        # the second srun of one job is another run
        (
            {"SLURM_JOB_ID": "123456", "SLURM_STEP_ID": "1", "SLURM_STEP_NUM_TASKS": "8"},
            "slurm-123456.1",
        ),
        # a batch script's own python (no srun step) or a one-task step: the time
        ({"SLURM_JOB_ID": "123456"}, None),
        ({"SLURM_JOB_ID": "123456", "SLURM_STEP_ID": "0", "SLURM_STEP_NUM_TASKS": "1"}, None),
        ({}, None),
    ],
)
def test_launcher_job_id(env: dict[str, str], expected: str | None) -> None:
    assert launcher_job_id(env) == expected


def test_run_name_is_the_time_without_a_launcher() -> None:
    assert re.fullmatch(r"\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d_\d{6}", run_name(TIME))


def _run_dir(tmp_path: Path) -> str:
    cfg = compose_config(["experiment=digits_cnn", f"paths.log_dir={tmp_path}"], tmp_path / "x")
    return str(cfg.hydra.run.dir)


def test_every_rank_of_a_torchrun_job_composes_one_run_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "job7")
    monkeypatch.setenv("WORLD_SIZE", "2")
    dirs = set()
    for rank in ("0", "1"):  # each rank composes its own config, as under torchrun
        monkeypatch.setenv("RANK", rank)
        dirs.add(_run_dir(tmp_path))
    assert dirs == {str(tmp_path / "digits_cnn" / "runs" / "torchrun-job7")}


def test_two_runs_without_a_launcher_get_two_dirs(tmp_path: Path) -> None:
    first, second = _run_dir(tmp_path), _run_dir(tmp_path)
    assert first != second
    assert Path(first).parent == tmp_path / "digits_cnn" / "runs"


@pytest.mark.parametrize(
    ("env", "zero"),
    [
        ({}, True),
        ({"RANK": "0", "LOCAL_RANK": "0", "GROUP_RANK": "0"}, True),
        ({"SLURM_PROCID": "0"}, True),
        ({"LOCAL_RANK": "1"}, False),  # Lightning's own launcher, second process
        ({"NODE_RANK": "1", "LOCAL_RANK": "0"}, False),  # the second node's first process
        ({"RANK": "3"}, False),
        ({"SLURM_PROCID": "5"}, False),
    ],
)
def test_is_rank_zero_process(env: dict[str, str], zero: bool) -> None:
    assert is_rank_zero_process(env) is zero


def _file_handler(path: Path) -> tuple[logging.Logger, logging.FileHandler]:
    logger = logging.getLogger("dlzoo.test_ddp_run_dir")
    handler = logging.FileHandler(path)
    logger.addHandler(handler)
    return logger, handler


def test_other_ranks_stop_writing_the_run_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "elsewhere.log"
    (tmp_path / "run").mkdir()
    logger, inside = _file_handler(tmp_path / "run" / "train.log")
    _, kept = _file_handler(outside)
    try:
        monkeypatch.setenv("LOCAL_RANK", "1")
        assert quiet_other_ranks(tmp_path / "run") is True
        assert inside not in logger.handlers  # the run's log is rank zero's
        assert kept in logger.handlers  # a file of the user's elsewhere stays
    finally:
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
            handler.close()


def test_rank_zero_keeps_the_run_log(tmp_path: Path) -> None:
    logger, handler = _file_handler(tmp_path / "train.log")
    try:
        assert quiet_other_ranks(tmp_path) is False
        assert handler in logger.handlers
    finally:
        logger.removeHandler(handler)
        handler.close()
