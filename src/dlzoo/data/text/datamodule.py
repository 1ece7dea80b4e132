"""Text classification datamodules: documents in, padded token ids out.

:class:`TextDataModule` does what every text dataset needs; a subclass only reads its
documents (:meth:`TextDataModule.read`):

1. reads ``(texts, labels, sources)``: a source names each document (its file, or
   ``file.csv:row N``), for messages;
2. runs the :class:`~dlzoo.data.text.preprocess.TextPreprocessor` steps of the config
   on every document and drops those left empty (the log counts them and names the
   first few);
3. labels: the sorted label strings are ``class_names``; a seeded, stratified
   train / val / test split (70 / 15 / 15), or the subclass's own split;
4. fits the :class:`~dlzoo.data.text.tokenizer.TextTokenizer` on the *training* documents
   only (a word seen only in val / test maps to ``[UNK]``) and encodes every split to
   token ids padded with 0;
5. serves ``(tokens, y, lengths)`` batches trimmed to their longest document
   (optionally bucketed by length, see
   :class:`~dlzoo.data.sequence_loader.PaddedSequenceLoader`);
6. the fitted state (class names, preprocessing steps, tokenizer) travels with the
   model; ``predict_inputs(path)`` reads new documents with it.

Reading files: every text file is decoded with ``encoding``; a file that does not
decode is a :class:`~dlzoo.errors.DataError` naming it, unless ``encoding_fallback``
decodes it (the log names the files that needed the fallback).
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from dlzoo.data.base import STAGES, PredictInputs
from dlzoo.data.classification import LabelledDataModule
from dlzoo.data.memory import require_config
from dlzoo.data.options import check_fractions
from dlzoo.data.sequence_loader import PaddedSequenceLoader
from dlzoo.data.state import get_field, string_list
from dlzoo.data.text.decoding import SHOWN, TextDecoder
from dlzoo.data.text.preprocess import TextPreprocessor
from dlzoo.data.text.tokenizer import TextTokenizer
from dlzoo.errors import ConfigError, DataError
from dlzoo.signatures import extends_signature

__all__ = ["Corpus", "TextDataModule", "TextDecoder", "TokenIdentity", "text_signature"]


log = logging.getLogger(__name__)


@dataclass
class Corpus:
    """Documents as a :meth:`TextDataModule.read` returns them.

    Attributes:
        texts: the raw documents.
        labels: one label string per document.
        sources: one name per document, for messages (``path``, ``file.csv:row N``).
        stages: the split each document belongs to (``train`` / ``val`` / ``test``),
            or ``None`` for the seeded stratified split.
    """

    texts: list[str]
    labels: list[str]
    sources: list[str]
    stages: list[str] | None = None


class TokenIdentity(nn.Module):
    """The text datamodules' ``input_transform``: token ids pass through unchanged.

    The text steps (preprocessing, tokenising) are string operations; they run in
    ``predict_inputs``, outside an exported graph, which starts at the token ids.

    Shapes:
        - tokens: (B, T) int64, lengths: (B,) -> (B, T), the tokens themselves
    """

    def forward(self, tokens: Tensor, lengths: Tensor | None = None) -> Tensor:
        return tokens


class TextDataModule(LabelledDataModule):
    """Base class of text classification datamodules (see the module doc).

    A subclass implements :meth:`read` and sets ``name`` and ``location`` (its folder
    or file, for messages).

    After ``setup()``, or after ``load_fitted_state()`` alone:

    - ``net_kwargs()``: ``{"vocab_size": V, "padding_idx": 0, "num_classes": K}``;
    - ``class_names``, ``num_classes``, ``preprocessor`` and ``tokenizer`` (fitted:
      ``tokenizer.tokens_of(ids)`` shows a document's tokens);
    - ``predict_inputs(path)`` and ``input_transform()`` (the identity: see
      :class:`TokenIdentity`).

    After ``setup()`` only:

    - ``split_indices``: stage -> int64 indices into the documents kept (those not
      empty after preprocessing, in reading order); :meth:`save_split` writes them;
    - ``texts`` / ``sources``: stage -> the preprocessed documents / their names, in
      the row order of ``tensors`` (for baselines and figures);
    - ``tensors``: stage -> ``(tokens, y, lengths)``.

    The fitted state: ``name``, ``class_names``, ``preprocess`` (the steps) and
    ``tokenizer`` (its settings and vocabulary), all plain data.

    Args:
        batch_size: documents per training batch.
        eval_batch_size: documents per val / test batch; ``None`` is 4 x ``batch_size``.
        seed: seeds the split and the training batches' order; ``None`` means 0.
        val_fraction: share of the documents used for validation.
        test_fraction: share used for testing.
        preprocess: the preprocessing steps (see
            :class:`~dlzoo.data.text.preprocess.TextPreprocessor`); ``None`` is its
            default steps.
        tokenizer: :class:`~dlzoo.data.text.tokenizer.TextTokenizer`'s arguments (``kind``,
            ``vocab_size``, ``min_frequency``, ``max_length``, ``add_cls``); ``None``
            is its defaults.
        bucket: batch training documents of similar length (less padding).
        encoding: the text files' encoding.
        encoding_fallback: the encoding of files that ``encoding`` fails on, or ``None``
            (then such a file is a DataError).

    Shapes:
        - tensors[stage]: tokens (N, T_max) int64 padded with 0, y (N,) int64,
          lengths (N,) int64 >= 1
        - a batch: ``(tokens, y, lengths)``, tokens (B, T), T = max(lengths) of the batch
    """

    name: str = "text"
    strings_are_documents = True
    location: str = "the corpus"
    loader_class = PaddedSequenceLoader

    def __init__(
        self,
        batch_size: int = 32,
        eval_batch_size: int | None = None,
        seed: int | None = 0,
        val_fraction: float = 0.15,
        test_fraction: float = 0.15,
        preprocess: Sequence[str | Mapping[str, Any]] | None = None,
        tokenizer: Mapping[str, Any] | None = None,
        bucket: bool = False,
        encoding: str = "utf-8",
        encoding_fallback: str | None = None,
    ) -> None:
        super().__init__(batch_size, eval_batch_size, seed)
        self.val_fraction, self.test_fraction = check_fractions(val_fraction, test_fraction)
        key = "data.preprocess"
        self.preprocessor = (
            TextPreprocessor(key=key) if preprocess is None else TextPreprocessor(preprocess, key)
        )
        # a Hydra DictConfig of scalars: dict() gives plain values
        self.tokenizer_kwargs = dict(tokenizer or {})
        self.tokenizer = self._new_tokenizer()
        self.bucket = bool(bucket)
        self.decoder = TextDecoder(encoding, encoding_fallback)
        self.texts: dict[str, list[str]] = {}
        self.sources: dict[str, list[str]] = {}

    def _new_tokenizer(self) -> TextTokenizer:
        try:
            return TextTokenizer(**self.tokenizer_kwargs)
        except TypeError as exc:
            raise ConfigError(
                f"data.tokenizer={self.tokenizer_kwargs} has an unknown key ({exc}): use "
                "kind, vocab_size, min_frequency, max_length, add_cls"
            ) from None

    # ------------------------------------------------------------------ reading

    @abstractmethod
    def read(self) -> Corpus:
        """The raw documents, their labels and names (decode files with ``decoder``)."""

    def prepare_data(self) -> None:
        """Nothing to fetch: the documents are read in :meth:`setup`."""

    def _setup_once(self) -> None:
        corpus = self._kept(self.read())
        self.class_names = sorted(set(corpus.labels))
        index = {label: k for k, label in enumerate(self.class_names)}
        y = np.array([index[label] for label in corpus.labels], dtype=np.int64)
        self.split_indices = self._split(y, corpus.stages)
        self._check_split_sizes(
            len(y), "documents", "add documents or change data.val_fraction / data.test_fraction"
        )
        self._check_seen_classes(y)
        texts = {s: [corpus.texts[i] for i in idx] for s, idx in self.split_indices.items()}
        # fitted on the training documents only: val / test words stay unknown
        self.tokenizer.fit(texts["train"])
        for stage, idx in self.split_indices.items():
            sources = [corpus.sources[i] for i in idx]
            tokens, lengths = self._encode(texts[stage], sources)
            self.tensors[stage] = (tokens, torch.from_numpy(y[idx]), lengths)
            self.texts[stage], self.sources[stage] = texts[stage], sources

    def _kept(self, corpus: Corpus) -> Corpus:
        """``corpus`` preprocessed, without the documents that preprocessing emptied."""
        self.decoder.log_fallbacks(self.name)
        texts = self.preprocessor.many(corpus.texts)
        keep = [i for i, text in enumerate(texts) if text.strip()]
        if not keep:
            raise DataError(
                f"data '{self.name}' has no documents with text in {self.location} "
                f"({len(texts)} read, all empty after preprocessing): add documents, or "
                "check data.preprocess and the text column / files"
            )
        dropped = [corpus.sources[i] for i in sorted(set(range(len(texts))) - set(keep))]
        if dropped:
            more = "" if len(dropped) <= SHOWN else ", ..."
            log.info(
                "data '%s': %d document(s) empty after preprocessing were dropped: %s%s",
                self.name,
                len(dropped),
                ", ".join(dropped[:SHOWN]),
                more,
            )
        stages = corpus.stages
        return Corpus(
            [texts[i] for i in keep],
            [corpus.labels[i] for i in keep],
            [corpus.sources[i] for i in keep],
            None if stages is None else [stages[i] for i in keep],
        )

    def _split(self, y: np.ndarray, stages: list[str] | None) -> dict[str, np.ndarray]:
        """The seeded stratified split, or the one ``stages`` gives."""
        if stages is None or self.fold is not None:  # cross-validation pools named splits
            return self._stage_indices(y, self.val_fraction, self.test_fraction)
        named = np.asarray(stages)
        return {s: np.flatnonzero(named == s).astype(np.int64) for s in STAGES}

    def _check_seen_classes(self, y: np.ndarray) -> None:
        """A class in val / test that train lacks could never be learnt: a DataError."""
        seen = set(y[self.split_indices["train"]].tolist())
        for stage in ("val", "test"):
            unseen = sorted(set(y[self.split_indices[stage]].tolist()) - seen)
            if unseen:
                names = [self.class_names[k] for k in unseen]
                raise DataError(
                    f"data '{self.name}' ({self.location}): class(es) {names} occur in the "
                    f"{stage} split but in no training document: add training documents of "
                    "them (a class needs several documents to be split three ways)"
                )

    def _encode(self, texts: list[str], sources: list[str]) -> tuple[Tensor, Tensor]:
        """Preprocessed documents -> ``(tokens, lengths)``; a document without tokens is
        a DataError naming it.

        Shapes:
            - output: tokens (N, T_max) int64 padded with 0, lengths (N,) int64 >= 1
        """
        tokens, lengths = self.tokenizer.encode(texts)
        empty = torch.nonzero(lengths == 0).flatten().tolist()
        if empty:
            raise DataError(
                f"{sources[empty[0]]} has no tokens after tokenising ({len(empty)} such "
                "document(s)): remove it or change data.preprocess / data.tokenizer"
            )
        return tokens.to(torch.int64), lengths.to(torch.int64)

    # ------------------------------------------------------------------ facts

    @property
    def is_fitted(self) -> bool:
        """Whether the tokenizer is there: after ``setup`` or ``load_fitted_state``."""
        return self.tokenizer.is_fitted

    @property
    def vocab_size(self) -> int:
        """V: token ids are 0 .. V-1 (0 pads, 1 is ``[UNK]``)."""
        self._require_fitted()
        return self.tokenizer.vocab_size

    def net_kwargs(self) -> dict[str, Any]:
        """``vocab_size``, ``padding_idx`` (0) and ``num_classes``."""
        self._require_fitted()
        return {"vocab_size": self.vocab_size, "padding_idx": 0, "num_classes": self.num_classes}

    def extra_baselines(self) -> dict[str, float]:
        """``test/baseline_acc``: TF-IDF + logistic regression fitted on the training
        documents, scored on the test documents (see :mod:`dlzoo.data.text.baseline`)."""
        from dlzoo.data.text.baseline import tfidf_logreg_accuracy

        self._require_setup()
        y_train, y_test = (self.tensors[s][1].numpy() for s in ("train", "test"))
        accuracy = tfidf_logreg_accuracy(
            self.texts["train"], y_train, self.texts["test"], y_test, seed=self.seed
        )
        return {"test/baseline_acc": accuracy}

    # ------------------------------------------------------------------ fitted state

    def fitted_state(self) -> dict[str, Any]:
        """``name``, ``class_names``, ``preprocess`` and ``tokenizer`` (plain data)."""
        return {
            **self._class_state(),
            "preprocess": self.preprocessor.state(),
            "tokenizer": self.tokenizer.state(),
        }

    def _apply_fitted_state(self, state: dict[str, Any]) -> None:
        class_names = string_list(state, "class_names", self.name)
        preprocessor = TextPreprocessor.from_state(state.get("preprocess"), self.name)
        require_config(self.name, "preprocess", preprocessor.state(), self.preprocessor.state())
        tokenizer = TextTokenizer.from_state(
            get_field(state, "tokenizer", dict, self.name), self.name
        )
        # the configured settings must be the fitted ones (the vocabulary is data)
        configured = self._new_tokenizer().settings()
        for key, value in tokenizer.settings().items():
            require_config(self.name, f"tokenizer.{key}", value, configured[key])
        self.class_names, self.preprocessor, self.tokenizer = class_names, preprocessor, tokenizer

    # ------------------------------------------------------------------ prediction

    def predict_inputs(self, path: str | Path) -> PredictInputs:
        """Documents to classify: a ``.txt`` file (one document per line, blank lines
        skipped; names ``file.txt:LINE``), or a folder of ``.txt`` files (one document
        per file; names the file names, sorted).

        Each is preprocessed and tokenised as the training documents were.

        Returns:
            ``inputs = (tokens, lengths)``: tokens (N, T) int64 padded with 0 to the
            longest document, lengths (N,) int64.

        Raises:
            DataError: no such file, another kind of file, no documents, or a document
                that is empty after preprocessing (named by file and line).
        """
        self._require_fitted()
        path = Path(path)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix == ".txt")
            texts, names = [self.decoder.read(p) for p in files], [p.name for p in files]
        elif path.is_file() and path.suffix.lower() == ".txt":
            texts, names = self._lines(path)
        else:
            texts, names = self._predict_documents(path)
        return self._predict_encoded(path, texts, names)

    def _lines(self, path: Path) -> tuple[list[str], list[str]]:
        """The non-blank lines of a ``.txt`` file and their names ``file.txt:LINE``."""
        lines = self.decoder.read(path).splitlines()
        numbered = [(n, line) for n, line in enumerate(lines, start=1) if line.strip()]
        return [line for _, line in numbered], [f"{path.name}:{n}" for n, _ in numbered]

    def _predict_documents(self, path: Path) -> tuple[list[str], list[str]]:
        """Documents from a file that is not ``.txt`` (subclasses read e.g. ``.csv``)."""
        what = "does not exist" if not path.exists() else "is not a .txt file or a folder"
        raise DataError(
            f"{path} {what}: give a .txt file with one document per line, or a folder of "
            ".txt files (one document each)"
        )

    def predict_values(self, values: Any) -> PredictInputs:
        """Documents to classify, in memory: one string or a list of them, preprocessed
        and tokenised as the training documents were.

        Returns:
            As :meth:`predict_inputs`; ``names`` ``"text[i]"``.

        Raises:
            DataError: not strings, none, or one empty after preprocessing.
        """
        self._require_fitted()
        texts = [values] if isinstance(values, str) else values
        if not isinstance(texts, list | tuple) or not all(isinstance(t, str) for t in texts):
            raise DataError(
                f"data '{self.name}' classifies strings, not a {type(values).__name__}: give "
                "a string, a list of strings, a .txt file or a folder of .txt files"
            )
        names = [f"text[{i}]" for i in range(len(texts))]
        return self._predict_encoded("the texts given", list(texts), names)

    def _predict_encoded(
        self, source: str | Path, texts: list[str], names: list[str]
    ) -> PredictInputs:
        self.decoder.log_fallbacks(self.name)
        if not texts:
            raise DataError(f"{source} holds no documents: give at least one non-blank line")
        processed = self.preprocessor.many(texts)
        for text, name in zip(processed, names, strict=True):
            if not text.strip():
                raise DataError(
                    f"{name} of {source} is empty after preprocessing: remove it or give text "
                    "with words"
                )
        tokens, lengths = self._encode(processed, names)
        return PredictInputs((tokens, lengths), names)

    def input_transform(self) -> TokenIdentity:
        """The identity on token ids (the text steps run in :meth:`predict_inputs`)."""
        self._require_fitted()
        return TokenIdentity()

    # ------------------------------------------------------------------ loaders

    def _loader(self, stage: str, train: bool = False) -> PaddedSequenceLoader:
        loader = super()._loader(stage, train)
        loader.bucket = self.bucket
        return loader


def text_signature(cls: type[TextDataModule]) -> type[TextDataModule]:
    """Class decorator: ``cls``'s signature is its own arguments, then (keyword-only)
    :class:`TextDataModule`'s, which its ``__init__`` takes as ``**kwargs`` (see
    :func:`~dlzoo.signatures.extends_signature`)."""
    return extends_signature(TextDataModule)(cls)
