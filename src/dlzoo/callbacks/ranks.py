"""Which process is which DDP rank, recorded in the run directory, so that the ranks that
survive a lost one can name it.

When one rank of a DDP run dies (killed, out of memory, its node gone), the others learn
of it only as a communication error in their next collective ("Connection reset by
peer" from gloo, a NCCL error), which names an address, not a rank. Each rank writes
``ranks/<rank>`` (``host pid``) into the run directory when training starts; a survivor
then finds the ranks whose process on its own host is gone (:func:`lost_ranks`).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

from lightning.pytorch.callbacks import Callback

__all__ = ["RANKS_DIR", "RankRecord", "lost_ranks"]

RANKS_DIR = "ranks"


class RankRecord(Callback):
    """Write ``ranks/<global rank>`` (``host pid``) on every rank of a multi-process run.

    Args:
        run_dir: the run directory.
    """

    def __init__(self, run_dir: str | Path) -> None:
        self.folder = Path(run_dir) / RANKS_DIR

    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        if trainer.world_size < 2:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        record = f"{socket.gethostname()} {os.getpid()}\n"
        (self.folder / str(trainer.global_rank)).write_text(record)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return _state(pid) != "Z"  # a zombie has ended; only its parent has not reaped it


def _state(pid: int) -> str:
    """A process's state letter from ``/proc`` (``""`` where there is no ``/proc``)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def lost_ranks(run_dir: str | Path, world_size: int) -> list[tuple[int, int]]:
    """``(rank, pid)`` of the ranks recorded on this host whose process has ended.

    Args:
        run_dir: the run directory.
        world_size: the number of ranks.
    """
    host, lost = socket.gethostname(), []
    for rank in range(world_size):
        try:
            rank_host, pid = (Path(run_dir) / RANKS_DIR / str(rank)).read_text().split()
        except (OSError, ValueError):
            continue
        if rank_host == host and not _alive(int(pid)):
            lost.append((rank, int(pid)))
    return lost
