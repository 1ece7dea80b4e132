"""A DDP run that loses a rank stops with one line: which rank, where, and how to go on.

When a rank's process dies, the surviving ranks fail in their next collective (the
gradients' all-reduce, a broadcast) within about a second, with gloo's or NCCL's
communication error and a page of traceback that names an address, not a rank.
Under :func:`report_lost_rank` that error becomes a :class:`LostRankError`: one line naming
the lost rank (from the records of :mod:`dlzoo.callbacks.ranks`), where training was,
the run directory, its last checkpoint and the ``resume=true`` command, printed by the
lowest surviving rank only; the process exits with status 1.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from dlzoo.callbacks.checkpoints import last_checkpoint_path
from dlzoo.callbacks.ranks import lost_ranks
from dlzoo.errors import TrainingError
from dlzoo.run.interrupt import resume_command

__all__ = ["LostRankError", "is_lost_peer", "rank_lost", "report_lost_rank"]

# what gloo and NCCL say when the other end of a collective has gone
PEER_GONE = (
    "connection reset by peer",
    "connection closed by peer",
    "broken pipe",
    "nccl communicator was aborted",
    "remote process exited",
)


class LostRankError(TrainingError):
    """A DDP rank died; this process stops.

    Args:
        message: the line.
        report: whether this rank prints it (the lowest surviving rank does).
    """

    exit_status = 1  # not bad input: the same command, resumed, goes on

    def __init__(self, message: str, report: bool = True) -> None:
        super().__init__(message)
        self.report = report


def is_lost_peer(exc: BaseException) -> bool:
    """Whether ``exc`` is a collective that failed because another rank went away."""
    import torch.distributed as dist

    if isinstance(exc, getattr(dist, "DistNetworkError", ())):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and any(phrase in text for phrase in PEER_GONE)


def _where(trainer: Any) -> str:
    step, epoch, of = trainer.global_step, trainer.current_epoch + 1, trainer.max_epochs
    # the stage is reset when Lightning tears down after the error; the function is not
    if str(trainer.state.fn.value) != "fit":
        return f"while evaluating, after step {step}"
    return f"at step {step} (epoch {min(epoch, of) if of and of > 0 else epoch}/{of})"


def rank_lost(trainer: Any, run_dir: Any) -> LostRankError:
    """The error this rank raises after another rank of ``trainer`` died.

    Args:
        trainer: the run's Trainer (its step and epoch say where training was).
        run_dir: the run directory.
    """
    lost = lost_ranks(run_dir, trainer.world_size)
    gone = {rank for rank, _ in lost}
    survivors = [r for r in range(trainer.world_size) if r not in gone]
    # lost ranks on another host cannot be told apart here: then every survivor reports
    report = not lost or trainer.global_rank == min(survivors)
    who = ", ".join(f"rank {rank} (process {pid})" for rank, pid in lost)
    who = who or "a rank on another node (its process, or the node, stopped)"
    line = f"lost {who} of {trainer.world_size} {_where(trainer)}, in run {run_dir}: "
    ckpt = last_checkpoint_path(trainer)
    if ckpt is None or not ckpt.is_file():
        line += "no last.ckpt to continue from yet; start the run again"
    else:
        line += f"the last checkpoint is {ckpt}; continue with: {resume_command(run_dir)}"
    return LostRankError(line, report=report)


@contextlib.contextmanager
def report_lost_rank(run: Any) -> Iterator[None]:
    """Turn a collective that failed on a lost rank into :class:`LostRankError`.

    Args:
        run: the built run (its Trainer and run directory).
    """
    try:
        yield
    except Exception as exc:
        trainer = run.trainer
        if trainer is None or trainer.world_size < 2 or not is_lost_peer(exc):
            raise
        raise rank_lost(trainer, run.output_dir) from None
