"""Sequence classification on the UCR / UEA time series archives, offline.

sktime 1.2 ships a handful of the archives' problems as ``.ts`` files in its wheel
(``sktime/datasets/data/<Name>/<Name>_TRAIN.ts`` and ``_TEST.ts``). This module reads
those, and only those: any other archive name would make sktime download it, so it is a
:class:`~dlzoo.errors.DataError` here that lists what is shipped.

:class:`UCRDataModule` does what every problem needs:

1. reads the official train and test parts through ``load_UCR_UEA_dataset`` (nested
   format, so unequal-length problems such as JapaneseVowels load too);
2. maps the training labels to ``0 .. K-1`` (``class_names``), keeps the published
   test part and carves a seeded, stratified validation part out of the training part;
3. standardises each channel with the mean / std of the training part's valid
   (non-padded) time steps; padded steps stay exactly 0;
4. serves ``(x, y, lengths)`` batches through
   :class:`~dlzoo.data.sequence_loader.PaddedSequenceLoader`, with x trimmed to the
   longest sequence of each batch;
5. the fitted state (class names, mean / std) travels with the model, and
   ``predict_inputs(path)`` reads new cases from a ``.npy`` array (N, C, T) or (C, T),
   or a ``.ts`` file, with it.

Shipped classification problems (train / test cases, channels, length, classes):

========================  ===========  ========  =========  =======
name                      train / test channels  length     classes
========================  ===========  ========  =========  =======
ACSF1                     100 / 100    1         1460       10
ArrowHead                 36 / 175     1         251        3
BasicMotions              40 / 40      6         100        4
GunPoint                  50 / 150     1         150        2
ItalyPowerDemand          67 / 1029    1         24         2
JapaneseVowels            270 / 370    12        7 - 29     9
OSULeaf                   200 / 242    1         427        6
PLAID                     537 / 537    1         100 - 1344 11
UnitTest                  20 / 22      1         24         2
========================  ===========  ========  =========  =======

(UnitTest is sktime's 42-case excerpt of Chinatown; Covid3Month and Tecator are
shipped too but are regression problems, so they are not offered.)

Reference: Dau et al., "The UCR time series archive", 2019; Bagnall et al., "The UEA
multivariate time series classification archive", 2018.
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from dlzoo.data.base import PredictInputs, value_array
from dlzoo.data.classification import ClassificationDataModule, class_order
from dlzoo.data.options import check_fractions
from dlzoo.data.preprocess import AffineScaler, MaskedAffineTransform
from dlzoo.data.sequence_loader import PaddedSequenceLoader
from dlzoo.data.splits import carve_validation
from dlzoo.data.state import get_field
from dlzoo.errors import DataError

__all__ = ["PaddedSequenceLoader", "SequenceArrays", "UCRDataModule", "shipped_ucr_names"]

SKTIME_REQUIREMENT = "sktime>=1.2,<1.3"


# ---------------------------------------------------------------------- shipped problems


def _sktime_data_dir() -> Path:
    """sktime's ``datasets/data`` folder, found without importing sktime (slow)."""
    spec = importlib.util.find_spec("sktime")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            f"sktime is not installed but ships the UCR / UEA sets: "
            f"pip install '{SKTIME_REQUIREMENT}'"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"


def _is_classification_problem(folder: Path) -> bool:
    """Both ``.ts`` parts exist and the header declares class labels.

    Reads the header only (up to ``@data``); regression problems (Tecator) declare
    ``@targetLabel`` instead of ``@classLabel``.
    """
    train, test = folder / f"{folder.name}_TRAIN.ts", folder / f"{folder.name}_TEST.ts"
    if not (train.is_file() and test.is_file()):
        return False
    try:
        with open(train, encoding="utf-8", errors="replace") as f:
            for line in f:
                tag = line.strip().lower()
                if tag.startswith("@data"):
                    break
                if tag.startswith("@classlabel"):
                    return tag.split()[1:2] == ["true"]
    except OSError:
        return False
    return False


@functools.cache
def shipped_ucr_names() -> tuple[str, ...]:
    """The UCR / UEA classification problems that sktime ships, sorted.

    Only these load offline: ``load_UCR_UEA_dataset`` downloads every other name.
    """
    data_dir = _sktime_data_dir()
    if not data_dir.is_dir():
        return ()
    folders = (d for d in data_dir.iterdir() if d.is_dir() and not d.name.startswith("_"))
    return tuple(sorted((d.name for d in folders if _is_classification_problem(d)), key=str.lower))


def _check_shipped(name: str) -> None:
    names = shipped_ucr_names()
    if name not in names:
        raise DataError(
            f"data.name='{name}' is not a UCR / UEA classification problem shipped with "
            f"sktime (others would be downloaded): use one of {', '.join(names) or '(none)'}"
        )


# ---------------------------------------------------------------------- reading


@dataclass
class SequenceArrays:
    """One part of a problem as read from its ``.ts`` file, zero-padded.

    Shapes:
        - x: (N, T_max, C) float64, zero after each sequence's length
        - lengths: (N,) int64, each >= 1
        - labels: (N,) the label strings as the file writes them
    """

    x: np.ndarray
    lengths: np.ndarray
    labels: np.ndarray


def _trim_case(case: np.ndarray, where: str) -> np.ndarray:
    """One case without its trailing all-NaN steps (padding in some archive files).

    Shapes:
        - case: (L, C) -> (L_valid, C), L_valid >= 1

    Raises:
        DataError: the case is empty, or has NaN / inf inside its valid steps.
    """
    valid = ~np.isnan(case).all(axis=1)
    case = case[: int(np.flatnonzero(valid)[-1]) + 1] if valid.any() else case[:0]
    if len(case) == 0:
        raise DataError(f"{where} is empty: the file may be corrupt")
    if np.isnan(case).any() or np.isinf(case).any():
        raise DataError(
            f"{where} has missing or infinite values inside the series (only trailing "
            "all-NaN steps are read as padding): such cases are not supported"
        )
    return case


def _pad(cases: list[np.ndarray], channels: int) -> tuple[np.ndarray, np.ndarray]:
    """Cases of lengths L_i, zero-padded to the longest.

    Shapes:
        - cases[i]: (L_i, C) -> x: (N, max L_i, C) float64, lengths: (N,) int64
    """
    lengths = np.array([len(c) for c in cases], dtype=np.int64)
    x = np.zeros((len(cases), int(lengths.max(initial=1)), channels), dtype=np.float64)
    for i, case in enumerate(cases):
        x[i, : len(case)] = case
    return x, lengths


def _nested_cases(frame: Any, where: str) -> list[np.ndarray]:
    """Nested sktime frame (one ``pd.Series`` per case and channel) -> (L_i, C) cases."""
    n, channels = frame.shape
    cells = frame.to_numpy()  # (N, C) object array of pd.Series; .iat per cell is slow
    cases: list[np.ndarray] = []
    for i in range(n):
        series = [np.asarray(cells[i, c], dtype=np.float64) for c in range(channels)]
        if len({len(s) for s in series}) != 1:
            raise DataError(
                f"{where} case {i} has channels of different lengths "
                f"{[len(s) for s in series]}: such problems are not supported"
            )
        case = np.stack(series, axis=1) if series[0].size else np.empty((0, channels))
        cases.append(_trim_case(case, f"{where} case {i}"))
    return cases


def _to_padded(name: str, split: str, frame: Any, labels: Any) -> SequenceArrays:
    """Nested sktime frame and its labels -> padded arrays."""
    cases = _nested_cases(frame, f"UCR '{name}' {split}")
    x, lengths = _pad(cases, frame.shape[1])
    return SequenceArrays(x, lengths, np.asarray(labels).astype(str))


def read_ucr(name: str, split: str) -> SequenceArrays:
    """Read the official ``split`` ("train" or "test") of a shipped problem.

    Args:
        name: one of :func:`shipped_ucr_names`.
        split: ``"train"`` or ``"test"``.

    Returns:
        The part's sequences zero-padded to its longest, their lengths and label strings.

    Raises:
        DataError: the name is not shipped (nothing is downloaded), or the file cannot
            be read.
    """
    _check_shipped(name)
    # imported here: sktime takes about a second to import
    from sktime.datasets import load_UCR_UEA_dataset

    data_dir = _sktime_data_dir()
    try:
        frame, labels = load_UCR_UEA_dataset(
            name,
            split=split,
            return_X_y=True,
            return_type="nested_univ",
            extract_path=str(data_dir),
        )
    except (OSError, ValueError, IndexError, TypeError) as exc:
        raise DataError(
            f"cannot read {data_dir / name}/{name}_{split.upper()}.ts ({exc}): "
            f"pip install --force-reinstall '{SKTIME_REQUIREMENT}'"
        ) from None
    return _to_padded(name, split, frame, labels)


# ---------------------------------------------------------------------- datamodule


class UCRDataModule(ClassificationDataModule):
    """A UCR / UEA classification problem shipped with sktime, served as padded batches.

    The published train / test split is kept; a stratified ``val_fraction`` of the
    training cases becomes validation. ``setup`` reads the files once (no disk cache);
    later calls return at once, whatever the stage.

    After ``setup()``, or after ``load_fitted_state()`` alone:

    - ``net_kwargs()``: ``{"input_size": C, "num_classes": K, "seq_len": L}``, where
      ``L`` is the longest series of the official training part, the length a net with
      one weight per step is built for (:class:`~dlzoo.models.mlp_ts.TimeSeriesMLP`);
    - ``class_names`` (the training labels sorted, numerically where they are numbers;
      class ``k`` is ``class_names[k]``), ``num_classes``, ``input_size``;
    - ``mean``, ``std``: per-channel statistics of the training part's valid steps,
      shape (C,) (0 and 1 with ``normalize=False``; ``input_scaler`` holds them);
    - ``predict_inputs(path)`` and ``input_transform()``.

    After ``setup()`` only:

    - ``max_length`` (the longest sequence in any split);
    - ``split_indices``: ``train`` and ``val`` index the official training cases (seeded
      random order), ``test`` the official test cases in file order;
      :meth:`save_split` writes them with the statistics to an ``.npz`` file;
    - ``tensors``: ``{"train", "val", "test"}`` -> ``(x, y, lengths)``.

    The fitted state: ``name``, ``class_names``, ``scaler`` (see
    :meth:`AffineScaler.state <dlzoo.data.preprocess.AffineScaler.state>`; C is the
    number of its offsets) and ``seq_len``. A state saved before ``seq_len`` was kept
    (an older run's) loads without it, and its ``net_kwargs()`` lack it.

    Args:
        name: the problem, one of :func:`shipped_ucr_names` (e.g. ``BasicMotions``,
            ``GunPoint``, ``JapaneseVowels``); case-sensitive.
        batch_size: sequences per training batch.
        eval_batch_size: sequences per val / test batch; ``None`` is 4 x ``batch_size``.
        seed: seeds the validation split and the training loader's permutations.
            ``None`` means 0: every process of a distributed run must draw the same split.
        val_fraction: share of the official training cases used for validation.
        normalize: standardise each channel with the training part's mean / std.

    Shapes:
        - tensors[stage]: x (N, T_max, C) float32 zero-padded, y (N,) int64,
          lengths (N,) int64
        - a batch: ``(x, y, lengths)`` with x (B, T, C), T = max(lengths) of the batch
    """

    loader_class = PaddedSequenceLoader

    def __init__(
        self,
        name: str = "BasicMotions",
        batch_size: int = 16,
        eval_batch_size: int | None = None,
        seed: int | None = 0,
        val_fraction: float = 0.2,
        normalize: bool = True,
    ) -> None:
        super().__init__(batch_size, eval_batch_size, seed, normalize)
        self.val_fraction, _ = check_fractions(float(val_fraction))
        # checked now so a wrong name fails when the config is instantiated, before training
        _check_shipped(str(name))
        self.name = str(name)
        self.max_length = 0
        self.seq_len: int | None = None

    # ------------------------------------------------------------------ loading

    def prepare_data(self) -> None:
        """Nothing to fetch: the files ship with sktime (read in :meth:`setup`)."""

    def _setup_once(self) -> None:
        """Read, label, split and normalise every split."""
        train, test = read_ucr(self.name, "train"), read_ucr(self.name, "test")
        if train.x.shape[2] != test.x.shape[2]:
            raise DataError(
                f"UCR '{self.name}' has {train.x.shape[2]} channels in train but "
                f"{test.x.shape[2]} in test: the files may be corrupt"
            )
        self.class_names = class_order(train.labels)
        train_y, test_y = self._label_indices(train.labels, test.labels)
        parts = self._parts(train, train_y, test, test_y)
        # an older run's state, saved without seq_len, must still agree after setup
        if self._loaded_state is None or "seq_len" in self._loaded_state:
            self.seq_len = int(train.lengths.max())
        x, _, lengths = parts["train"]
        # padded zeros would pull the mean towards 0 and shrink the std: valid steps only
        steps = x[_valid_mask(lengths, x.shape[1])]  # (sum(lengths), C)
        self.input_scaler = AffineScaler.fit(steps, channel_axis=1, kind=self.scaler_kind)
        for stage_name, (x, y, lengths) in parts.items():
            self.tensors[stage_name] = (
                self._scaled(x, lengths),
                torch.from_numpy(y),
                torch.from_numpy(lengths.astype(np.int64)),
            )
        self.max_length = max(int(t[2].max()) for t in self.tensors.values())

    def _parts(
        self, train: SequenceArrays, train_y: np.ndarray, test: SequenceArrays, test_y: np.ndarray
    ) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Fill ``split_indices`` and return each split's ``(x, y, lengths)``: the
        official test part and a validation part carved from the training cases, or, in
        a cross-validation fold, a fold of both parts pooled."""
        if self.fold is not None:
            # split indices then index the training cases followed by the test cases
            steps = max(train.x.shape[1], test.x.shape[1])
            x = np.concatenate(
                [np.pad(a.x, [(0, 0), (0, steps - a.x.shape[1]), (0, 0)]) for a in (train, test)]
            )
            y = np.concatenate([train_y, test_y])
            lengths = np.concatenate([train.lengths, test.lengths])
            self.split_indices = self._stage_indices(y, self.val_fraction, 0.0)
            self._check_split_sizes(len(y), "cases", "use fewer cv.folds")
            return {s: (x[i], y[i], lengths[i]) for s, i in self.split_indices.items()}
        train_idx, val_idx = carve_validation(train_y, self.val_fraction, self.seed)
        self.split_indices = {
            "train": train_idx,
            "val": val_idx,
            "test": np.arange(len(test_y), dtype=np.int64),
        }
        self._check_split_sizes(len(train_y), "training cases", "change data.val_fraction")
        return {
            "train": (train.x[train_idx], train_y[train_idx], train.lengths[train_idx]),
            "val": (train.x[val_idx], train_y[val_idx], train.lengths[val_idx]),
            "test": (test.x, test_y, test.lengths),
        }

    def _label_indices(self, train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Label strings -> class indices; a test label unseen in training is a DataError."""
        index = {label: k for k, label in enumerate(self.class_names)}
        unseen = sorted(set(test.tolist()) - set(index))
        if unseen:
            raise DataError(
                f"UCR '{self.name}' test labels {unseen} never occur in its training part "
                f"({self.class_names}): the files may be corrupt"
            )
        return (
            np.array([index[s] for s in train], dtype=np.int64),
            np.array([index[s] for s in test], dtype=np.int64),
        )

    def _scaled(self, x: np.ndarray, lengths: np.ndarray) -> Tensor:
        """Zero-padded raw cases, scaled, padded to their own longest, padding still 0.

        Shapes:
            - x: (N, T, C) float, lengths: (N,) -> (N, max(lengths), C) float32
        """
        x = x[:, : int(lengths.max())]
        scaled = self.input_scaler.transform(x, channel_axis=2)
        # padding must stay 0 (nets and the loader's trim rely on it)
        scaled[~_valid_mask(lengths, x.shape[1])] = 0.0
        return torch.from_numpy(scaled)

    # ------------------------------------------------------------------ facts

    @property
    def input_size(self) -> int:
        """C: channels per time step."""
        self._require_fitted()
        return self.input_scaler.channels

    def net_kwargs(self) -> dict[str, Any]:
        """What a net needs to know about the input.

        Returns:
            ``input_size`` (channels per time step), ``num_classes`` and ``seq_len``
            (the longest series of the official training part; absent from an older
            run's state).
        """
        self._require_fitted()
        kwargs = {"input_size": self.input_size, "num_classes": self.num_classes}
        return kwargs if self.seq_len is None else {**kwargs, "seq_len": self.seq_len}

    def fitted_state(self) -> dict[str, Any]:
        """``name``, ``class_names``, ``scaler`` and ``seq_len`` (see the class doc)."""
        state = self._class_state()
        return state if self.seq_len is None else {**state, "seq_len": self.seq_len}

    def load_fitted_state(self, state: dict[str, Any]) -> None:
        """As :meth:`InMemoryDataModule.load_fitted_state
        <dlzoo.data.memory.InMemoryDataModule.load_fitted_state>`; an older run's state,
        saved without ``seq_len``, agrees with this one when the rest does."""
        if isinstance(state, dict) and "seq_len" not in state and self.seq_len is not None:
            state = {**state, "seq_len": self.seq_len}
        super().load_fitted_state(state)

    def _apply_fitted_state(self, state: dict[str, Any]) -> None:
        self.class_names, self.input_scaler = self._parse_class_state(state)
        self.seq_len = None
        if "seq_len" in state:
            self.seq_len = get_field(state, "seq_len", int, self.name)
            if self.seq_len < 1:
                raise DataError(
                    f"the fitted state of data '{self.name}' has seq_len={self.seq_len}, "
                    "expected a positive int: load a state that fitted_state() wrote"
                )

    # ------------------------------------------------------------------ prediction

    def predict_inputs(self, path: str | Path) -> PredictInputs:
        """Sequences to classify, from a ``.npy`` array or a ``.ts`` file.

        - ``.npy``: numbers of shape (N, C, T) (N cases) or (C, T) (one case), C the
          training's channels; trailing steps that are NaN in every channel are padding
          (so cases of unequal length fit in one array);
        - ``.ts``: the UCR / UEA format, read by sktime (which needs the file to declare
          class labels; they are ignored).

        Returns:
            ``inputs = (x, lengths)`` as a batch gives them: x (N, T, C) float32,
            normalised and zero-padded to the longest case, lengths (N,) int64;
            ``names``: ``"<file>[i]"`` for case i.
        """
        self._require_fitted()
        path = Path(path)
        if not path.is_file():
            raise DataError(f"{path} does not exist: give a .npy or .ts file of sequences")
        if path.suffix.lower() == ".npy":
            cases = _npy_cases(path, self.input_size)
        elif path.suffix.lower() == ".ts":
            cases = _ts_cases(path, self.input_size)
        else:
            raise DataError(
                f"{path} is not a .npy or .ts file: give the sequences as a .npy array "
                f"(N, C, T) or (C, T) with C = {self.input_size}, or as a .ts file"
            )
        x, lengths = _pad(cases, self.input_size)
        inputs = (self._scaled(x, lengths), torch.from_numpy(lengths))
        return PredictInputs(inputs, [f"{path.name}[{i}]" for i in range(len(cases))])

    def predict_values(self, values: Any) -> PredictInputs:
        """Sequences to classify, in memory, as a ``.npy`` file holds them (see
        :meth:`predict_inputs`): raw units, trailing all-NaN steps are padding.

        Shapes:
            - values: (N, C, T) or one case (C, T), C the training's channels
            - output: ``inputs = (x, lengths)``: x (N, max L_i, C) float32, lengths (N,)
        """
        self._require_fitted()
        expected = f"numbers of shape (N, C, T) or (C, T) with C = {self.input_size} channels"
        array = value_array(values, self.name, expected)
        cases = _array_cases(array, f"the array given to data '{self.name}'", self.input_size)
        x, lengths = _pad(cases, self.input_size)
        inputs = (self._scaled(x, lengths), torch.from_numpy(lengths))
        return PredictInputs(inputs, [str(i) for i in range(len(cases))])

    def input_transform(self) -> MaskedAffineTransform:
        """Per-channel ``(x - mean) / std`` on (B, T, C) raw sequences; takes ``(x, lengths)``
        and keeps the steps at and after each length 0."""
        self._require_fitted()
        return self.input_scaler.module(channel_axis=2, ndim=3, masked=True)


def _npy_cases(path: Path, channels: int) -> list[np.ndarray]:
    """The (L_i, C) cases of a ``.npy`` array (N, C, T) or (C, T)."""
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(
            f"cannot read {path} as a .npy array ({exc}): save it with numpy.save"
        ) from None
    expected = f"expected numbers of shape (N, C, T) or (C, T) with C = {channels} channels"
    if not isinstance(array, np.ndarray) or not np.issubdtype(array.dtype, np.number):
        raise DataError(f"{path} holds {getattr(array, 'dtype', type(array))} values: {expected}")
    return _array_cases(array, str(path), channels)


def _array_cases(array: np.ndarray, source: str, channels: int) -> list[np.ndarray]:
    """The (L_i, C) cases of an array (N, C, T) or (C, T), trailing all-NaN steps cut.

    Raises:
        DataError: another shape, naming ``source``.
    """
    expected = f"expected numbers of shape (N, C, T) or (C, T) with C = {channels} channels"
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3 or array.shape[1] != channels or 0 in array.shape:
        raise DataError(f"{source} holds an array of shape {np.shape(array)}: {expected}")
    cases = array.astype(np.float64).transpose(0, 2, 1)  # (N, T, C): the loaders' layout
    return [_trim_case(case, f"{source} case {i}") for i, case in enumerate(cases)]


def _ts_cases(path: Path, channels: int) -> list[np.ndarray]:
    """The (L_i, C) cases of a ``.ts`` file."""
    # imported here: sktime takes about a second to import
    from sktime.datasets import load_from_tsfile

    try:
        frame = load_from_tsfile(str(path), return_y=False, return_data_type="nested_univ")
    except (OSError, ValueError, IndexError, TypeError, KeyError) as exc:
        raise DataError(
            f"cannot read {path} as a .ts file ({exc}): sktime reads .ts files that declare "
            "@classLabel; or give the cases as a .npy array (N, C, T)"
        ) from None
    if frame.shape[1] != channels:
        raise DataError(
            f"{path} has {frame.shape[1]} channel(s) per case, expected {channels} (the "
            "training's): give cases of the problem the model was trained on"
        )
    return _nested_cases(frame, str(path))


def _valid_mask(lengths: np.ndarray, steps: int) -> np.ndarray:
    """``mask[i, t]`` is True for the valid steps ``t < lengths[i]``.

    Shapes:
        - lengths: (N,) -> mask: (N, steps) bool
    """
    return np.arange(steps)[None, :] < lengths[:, None]
