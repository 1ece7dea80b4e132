"""The task owns the batch: one method splits every layout, and nothing else in src/
reads a batch by position."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from dlzoo.tasks.base import Task

SRC = Path(__file__).resolve().parents[2] / "src" / "dlzoo"


class GraphBatch:
    """What a PyTorch Geometric ``Batch`` looks like to the task: an object with ``y``."""

    def __init__(self) -> None:
        self.x = torch.zeros(5, 3)
        self.y = torch.tensor([0, 1])


def test_tuple_with_extra_inputs_after_the_target() -> None:
    x, y, lengths = torch.zeros(2, 4, 3), torch.tensor([0, 1]), torch.tensor([4, 2])
    inputs, target = Task.split_batch((x, y, lengths))
    assert inputs[0] is x and inputs[1] is lengths and len(inputs) == 2
    assert target is y
    inputs, target = Task.split_batch([x, y])
    assert inputs == (x,) and target is y


def test_unlabelled_batches_have_no_target() -> None:
    x = torch.zeros(2, 3)
    assert Task.split_batch((x,)) == ((x,), None)
    assert Task.split_batch(x) == ((x,), None)
    lengths = torch.tensor([3, 1])
    inputs, target = Task.split_batch({"x": x, "lengths": lengths})
    assert inputs[0] is x and inputs[1] is lengths and target is None


def test_mapping_keeps_its_order_and_finds_the_target() -> None:
    x, y, mask = torch.zeros(2, 3), torch.tensor([1, 0]), torch.ones(2, 3, dtype=torch.bool)
    inputs, target = Task.split_batch({"y": y, "x": x, "mask": mask})
    assert inputs[0] is x and inputs[1] is mask and target is y
    with pytest.raises(TypeError, match="'x' entry"):
        Task.split_batch({"pixels": x})


def test_graph_batch_is_one_input_with_its_labels() -> None:
    batch = GraphBatch()
    inputs, target = Task.split_batch(batch)
    assert inputs == (batch,) and target is batch.y


def test_nothing_outside_the_tasks_indexes_a_batch_by_position() -> None:
    offenders = []
    for path in SRC.rglob("*.py"):
        if path.parent.name == "tasks":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"\bbatch\[\s*-?\d", line):
                offenders.append(f"{path.relative_to(SRC)}:{number}: {line.strip()}")
    assert offenders == []
