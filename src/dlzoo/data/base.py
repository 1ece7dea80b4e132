"""The contract every dlzoo datamodule meets, and the names it gives shapes.

:class:`DlzooDataModule` is what the pipeline, the tasks and prediction code may rely
on; how batches are served is not part of it (:class:`~dlzoo.data.memory.InMemoryDataModule`
serves whole in-memory tensors, the base of every datamodule dlzoo ships).

Two moments in a datamodule's life:

1. **Training**: ``prepare_data()`` and ``setup()`` read the data, split it and *fit*
   the preprocessing on the training split (see :mod:`dlzoo.data.preprocess`).
2. **Deployment**: a fresh datamodule built from the same config gets that fitted
   preprocessing back with ``load_fitted_state(state)``, without reading any data:
   ``net_kwargs()``, ``task_kwargs()``, ``class_names``, ``predict_inputs(path)``
   (files), ``predict_values(values)`` (arrays or strings in memory, where the data
   takes them) and ``input_transform()`` then work as after ``setup()``. Lightning carries the state
   in every checkpoint through :meth:`DlzooDataModule.state_dict`.

Vocabulary: the names of shapes, across modalities
---------------------------------------------------

``net_kwargs()`` and ``task_kwargs()`` return constructor arguments, so these names are
the nets' and tasks' argument names; each has one meaning.

=================  ======================================================================
name               meaning
=================  ======================================================================
``in_channels``    C of an image batch (B, C, H, W)
``image_size``     (H, W) of an image batch
``in_features``    C * H * W: the width of an image flattened (for dense nets)
``input_size``     F, features per time step of a sequence batch (B, T, F): UCR channels,
                   or a forecasting window's columns (targets first)
``num_classes``    K, classes of a classification problem (logits per sample)
``seq_len``        the longest sequence of a UCR problem's training part: the steps a net
                   with one weight per step reads (shorter ones padded, longer ones cut)
``vocab_size``     V, token ids 0 .. V-1 of a text batch (the fitted tokenizer's vocabulary)
``padding_idx``    the token id that pads text sequences (0)
``window``         input time steps of one forecasting sample (its T)
``horizon``        time steps forecast after each window
``output_size``    series forecast per step: the first ``output_size`` columns of x
``target_offset``  task: per forecast series, original = scaled * target_scale +
``target_scale``   target_offset (``output_size`` floats each)
``mase_scale``     task: per forecast series, the training part's mean absolute one-step
                   change in original units (the MASE denominator; ``output_size`` floats)
``frames``         T of a video batch (B, T, C, H, W); ``in_channels``, ``image_size`` and
                   ``in_features`` then describe one frame
``node_features``  F, features per node of a graph batch (PyG ``x`` (N_nodes, F))
``edge_features``  features per edge (PyG ``edge_attr`` (E, F_e)); 0 when there are none
``level``          what a graph batch labels: ``"node"`` (one graph, a label per node and
                   train / val / test masks) or ``"graph"`` (a label per graph)
=================  ======================================================================

``in_features`` (a flattened image) and ``input_size`` (one step of a sequence) are two
things. The number of forecast series is ``output_size`` everywhere in a datamodule's
arguments; ``split.npz`` files keep their ``n_targets`` key for the same number (the
file format predates this vocabulary).

Batches: images ``(x, y)``, x (B, C, H, W); forecasting ``(x, y)``, x (B, window,
input_size), y (B, horizon, output_size); UCR ``(x, y, lengths)``, x (B, T, input_size)
zero-padded after each of ``lengths`` (B,); text ``(tokens, y, lengths)``, tokens (B, T)
int64 ids padded with ``padding_idx`` after each of ``lengths`` (the padding mask is
``arange(T) < lengths``); video ``(x, y)``, x (B, T, C, H, W); graphs a PyTorch
Geometric ``Data`` (node level: the whole graph with ``y`` (N,) and ``train_mask`` /
``val_mask`` / ``test_mask`` (N,) bool, every loader) or ``Batch`` (graph level: ``x``,
``edge_index``, ``edge_attr``, ``batch``, ``y`` (B,)). A net gets every batch element but
``y``; a graph net gets the ``Data`` / ``Batch`` itself.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
from torch import Tensor, nn

from dlzoo.errors import DataError

__all__ = ["STAGES", "DlzooDataModule", "PredictInputs", "value_array"]

STAGES = ("train", "val", "test")


@dataclass
class PredictInputs:
    """New raw inputs, preprocessed exactly as the training batches were.

    Attributes:
        inputs: the net's inputs, as a batch would give them (everything but the
            labels / targets): ``(x,)`` for images and forecasting windows, ``(x,
            lengths)`` for UCR sequences; call ``net(*inputs)``.
        names: one per row of the inputs: the file name of each image, ``file[i]`` for
            the i-th sequence of a file, the last time stamp of a forecasting window.

    Shapes:
        - inputs[k]: (N, ...), N == len(names)
    """

    inputs: tuple[Tensor, ...]
    names: list[str]

    def __len__(self) -> int:
        return len(self.names)


def value_array(values: Any, owner: str, expected: str) -> np.ndarray:
    """In-memory numbers (a NumPy array, a tensor, nested lists) as a float64 array.

    Args:
        values: what the user passed to predict.
        owner: the data's name, for the message.
        expected: the shapes this data takes, for the message.

    Raises:
        DataError: not numbers, or no values.
    """
    if isinstance(values, Tensor):
        values = values.detach().cpu().numpy()
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(
            f"data '{owner}' cannot read a {type(values).__name__} as numbers: give {expected}"
        ) from None
    if array.size == 0:
        raise DataError(f"data '{owner}' got an empty array: give {expected}")
    return array


class DlzooDataModule(L.LightningDataModule, ABC):
    """What every dlzoo datamodule provides, whatever its data and however it batches.

    Attributes:
        name: the dataset's name (a config option such as ``digits``, or a UCR
            problem such as ``GunPoint``); it labels runs and fitted states.
    """

    name: str
    # a string given to predict (dlzoo.fit's Result.predict) is a document of this data,
    # unless it names a file or folder; for other data, a string is a path
    strings_are_documents: bool = False

    @abstractmethod
    def net_kwargs(self) -> dict[str, Any]:
        """The net's shape arguments, named as in this module's vocabulary.

        Available after ``setup()`` or ``load_fitted_state()``.
        """

    def task_kwargs(self) -> dict[str, Any]:
        """The task's data-dependent arguments (e.g. the forecast scaler); none by default."""
        return {}

    @abstractmethod
    def split_record(self) -> dict[str, Any]:
        """Arrays that let this run's split and preprocessing be rebuilt (``split.npz``).

        Available after ``setup()``.
        """

    @abstractmethod
    def fitted_state(self) -> dict[str, Any]:
        """What was fitted on the training split, and what new raw inputs need.

        Plain data only (dict, list, str, int, float, bool, None), so that a checkpoint
        holding it loads with ``torch.load(weights_only=True)``. Always has ``name``.

        Raises:
            RuntimeError: before ``setup()`` or ``load_fitted_state()``.
        """

    @abstractmethod
    def load_fitted_state(self, state: dict[str, Any]) -> None:
        """Take over a state that :meth:`fitted_state` returned, without reading data.

        Afterwards ``net_kwargs()``, ``task_kwargs()``, ``class_names`` (classification),
        ``predict_inputs()`` and ``input_transform()`` work. On a datamodule that has
        fitted its own state already, the two must agree.

        Raises:
            DataError: the state is malformed, is another dataset's, contradicts this
                datamodule's config, or differs from what it fitted itself.
        """

    @abstractmethod
    def predict_inputs(self, path: str | Path) -> PredictInputs:
        """Read new raw inputs from ``path`` and preprocess them with the fitted state.

        Raises:
            DataError: a missing or unreadable file, the wrong kind of file, or data of
                the wrong shape; the message names the file, what was expected and
                what was found.
        """

    def predict_values(self, values: Any) -> PredictInputs:
        """In-memory raw inputs (arrays, tensors, strings), preprocessed as
        :meth:`predict_inputs` preprocesses a file's; by default this data takes files only.

        Raises:
            DataError: values this data cannot take, naming what it takes.
        """
        raise DataError(
            f"data '{self.name}' predicts from files only, not from a "
            f"{type(values).__name__}: give a file or folder as dlzoo-predict takes it"
        )

    @abstractmethod
    def input_transform(self) -> nn.Module:
        """The fitted tensor preprocessing, raw units in, net inputs out.

        Called with every net input (``x``, or ``x, lengths``), it returns ``x``
        transformed; the other inputs reach the net unchanged. Plain tensor ops with the
        statistics as buffers: ``torch.jit.trace`` and ONNX export take it, to ship in
        front of the net.
        """

    def extra_baselines(self) -> dict[str, float]:
        """Test-split baselines that only this data can compute (e.g. TF-IDF on raw
        text), by metric name; they replace the flat logistic regression. None by
        default."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        """Lightning's checkpoint hook: ``{"fitted": fitted_state()}``."""
        return {"fitted": self.fitted_state()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Lightning's restore hook: :meth:`load_fitted_state` of ``state_dict["fitted"]``."""
        if not isinstance(state_dict, dict) or "fitted" not in state_dict:
            raise DataError(
                f"the checkpoint's {type(self).__name__} state has no 'fitted' entry: "
                "it was not written by a dlzoo datamodule"
            )
        self.load_fitted_state(state_dict["fitted"])
