"""Texts to padded token ids, through the Hugging Face ``tokenizers`` library.

:class:`TextTokenizer` learns its vocabulary from the texts given to :meth:`~TextTokenizer.fit`
(the training split only) and has two kinds:

- ``word``: one id per whitespace-separated word (``WordLevel`` + ``WordLevelTrainer``);
  a word not in the vocabulary is ``[UNK]``.
- ``bpe``: byte-pair-encoding subwords (``BPE`` + ``BpeTrainer``); an unseen word made of
  seen characters becomes known pieces, a character never seen (or beyond the
  ``vocab_size - 3`` most frequent ones) becomes ``[UNK]``.

Texts are split on whitespace only (``WhitespaceSplit``): the
:class:`~dlzoo.data.text.preprocess.TextPreprocessor` decides where words end (it keeps
``"don't"`` whole and separates ``"end."``), and no normalizer runs here.

Ids 0, 1, 2 are always ``[PAD]``, ``[UNK]`` and ``[CLS]`` (``[CLS]`` is reserved even when
``add_cls`` is off). A text that happens to contain one of their spellings gets ``[UNK]``
there, so 0 only ever pads and 2 only ever starts a sequence.

``tokenizers`` encodes a batch on several threads. A process forked after that (a
``DataLoader`` worker) would make the library print a warning and turn its threads off in
the child; unless you set ``TOKENIZERS_PARALLELISM`` yourself, this module sets it to
``false`` for such children only (through ``os.register_at_fork``), silently: the parent
keeps its threads and the environment it had. dlzoo's loader workers never tokenise.
"""

from __future__ import annotations

import itertools
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from torch import Tensor

from dlzoo.data.state import get_field
from dlzoo.errors import ConfigError, DataError

__all__ = ["CLS", "KINDS", "PAD", "SPECIAL_TOKENS", "UNK", "TextTokenizer"]

PAD, UNK, CLS = "[PAD]", "[UNK]", "[CLS]"
SPECIAL_TOKENS = (PAD, UNK, CLS)  # in id order: 0, 1, 2
KINDS = ("word", "bpe")
_ENV = "TOKENIZERS_PARALLELISM"
_fork = {"used": False, "set": False}
# what WhitespaceSplit splits on (Rust's char::is_whitespace: Unicode's White_Space)
_WHITESPACE = "\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"


def _before_fork() -> None:
    if _fork["used"] and _ENV not in os.environ:
        os.environ[_ENV] = "false"
        _fork["set"] = True


def _after_fork_in_parent() -> None:
    if _fork["set"]:
        os.environ.pop(_ENV, None)
        _fork["set"] = False


def _after_fork_in_child() -> None:
    _fork["set"] = False  # the child keeps "false": its threads must stay off


if hasattr(os, "register_at_fork"):  # not on Windows, which never forks
    os.register_at_fork(
        before=_before_fork,
        after_in_parent=_after_fork_in_parent,
        after_in_child=_after_fork_in_child,
    )


def _count(key: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ConfigError(f"{key}={value!r} must be an integer >= {minimum}")
    return int(value)


def _new_tokenizer(kind: str, vocab_size: int, min_frequency: int) -> tuple[Tokenizer, Any]:
    """An untrained tokenizer of ``kind`` and the trainer that fits it."""
    common = {
        "vocab_size": vocab_size,
        "min_frequency": min_frequency,
        "special_tokens": list(SPECIAL_TOKENS),
        "show_progress": False,
    }
    if kind == "word":
        tokenizer = Tokenizer(models.WordLevel(unk_token=UNK))
        trainer = trainers.WordLevelTrainer(**common)
    else:
        tokenizer = Tokenizer(models.BPE(unk_token=UNK))
        # without a limit the whole alphabet joins the vocabulary, whatever vocab_size says
        limit = vocab_size - len(SPECIAL_TOKENS)
        trainer = trainers.BpeTrainer(**common, limit_alphabet=limit)
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return tokenizer, trainer


def _first_words(count: int) -> re.Pattern[str]:
    """The first ``count`` words of a text, as WhitespaceSplit splits it.

    ``tokenizers`` truncates after encoding the whole text: matching the words that can
    make the first ``count`` tokens (each word is one or more) and encoding only them
    saves the tail (the longer 29 % of BBC articles), 3x what the match costs. The
    quantifiers are possessive: a text with fewer words fails in one pass, no backtracking.
    """
    return re.compile(f"(?:[{_WHITESPACE}]*+[^{_WHITESPACE}]++){{{count}}}")


def _head(first_words: re.Pattern[str], text: str) -> str:
    found = first_words.match(text)
    return text[: found.end()] if found else text


def _pad(ids: list[list[int]], add_cls: bool) -> tuple[Tensor, Tensor]:
    """Rows of ids (without CLS) as a zero-padded (N, T_max) array and their lengths."""
    lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
    flat = np.fromiter(itertools.chain.from_iterable(ids), dtype=np.int64, count=lengths.sum())
    lengths += int(add_cls)
    # a text spelling "[PAD]" or "[CLS]" must not put 0 or 2 inside a sequence
    flat[(flat == 0) | (flat == 2)] = 1
    width = int(lengths.max()) if len(ids) else 0
    tokens = np.zeros((len(ids), width), dtype=np.int64)
    start = int(add_cls)
    if add_cls and width:
        tokens[:, 0] = 2
    body = np.arange(width - start) < (lengths - start)[:, None]
    tokens[:, start:][body] = flat  # row-major: each row's ids in order
    return torch.from_numpy(tokens), torch.from_numpy(lengths)


class TextTokenizer:
    """Texts -> padded token ids with a vocabulary learnt from the training texts.

    Args:
        kind: ``word`` (one id per word) or ``bpe`` (subword pieces).
        vocab_size: the most ids the vocabulary may hold, the 3 special ones included.
        min_frequency: a word (``word``) or merge (``bpe``) seen fewer times in the
            training texts is left out.
        max_length: the most ids a text keeps (the rest is cut), ``[CLS]`` counted in.
        add_cls: put ``[CLS]`` (id 2) first in every sequence.
        key: the config key the settings come from, for messages.

    Raises:
        ConfigError: an unknown kind or a count out of range.
    """

    pad_id = 0
    unk_id = 1
    cls_id = 2

    def __init__(
        self,
        kind: str = "word",
        vocab_size: int = 20000,
        min_frequency: int = 2,
        max_length: int = 512,
        add_cls: bool = False,
        key: str = "data.tokenizer",
    ) -> None:
        if kind not in KINDS:
            raise ConfigError(f"{key}.kind={kind!r} is not one of {', '.join(KINDS)}")
        if not isinstance(add_cls, bool):
            raise ConfigError(f"{key}.add_cls={add_cls!r} must be true or false")
        self.kind = kind
        self.max_vocab = _count(f"{key}.vocab_size", vocab_size, len(SPECIAL_TOKENS) + 1)
        self.min_frequency = _count(f"{key}.min_frequency", min_frequency, 1)
        self.max_length = _count(f"{key}.max_length", max_length, 1 + int(add_cls))
        self.add_cls = add_cls
        self._tokenizer: Tokenizer | None = None
        self._first_words: re.Pattern[str] | None = None

    def fit(self, texts: Iterable[str]) -> TextTokenizer:
        """Learn the vocabulary from ``texts`` (the training split only); returns self."""
        tokenizer, trainer = _new_tokenizer(self.kind, self.max_vocab, self.min_frequency)
        _fork["used"] = True
        tokenizer.train_from_iterator(texts, trainer)
        self._set(tokenizer)
        return self

    def _set(self, tokenizer: Tokenizer) -> None:
        tokenizer.no_padding()  # padded here, with the lengths
        limit = self.max_length - int(self.add_cls)
        tokenizer.enable_truncation(limit)
        self._tokenizer = tokenizer
        # a loaded JSON could split otherwise: then the words are not known before encoding
        splits = isinstance(tokenizer.pre_tokenizer, pre_tokenizers.WhitespaceSplit)
        self._first_words = _first_words(limit) if splits and tokenizer.normalizer is None else None

    @property
    def is_fitted(self) -> bool:
        """Whether :meth:`fit` (or :meth:`from_state`) gave it a vocabulary."""
        return self._tokenizer is not None

    def _fitted(self) -> Tokenizer:
        if self._tokenizer is None:
            raise RuntimeError("the TextTokenizer is not fitted: call fit(train_texts) first")
        return self._tokenizer

    @property
    def vocab_size(self) -> int:
        """V, the fitted vocabulary's size: ids are 0 .. V-1."""
        return self._fitted().get_vocab_size(with_added_tokens=True)

    def encode(self, texts: Sequence[str]) -> tuple[Tensor, Tensor]:
        """Token ids of many texts, padded with 0 after each one's length.

        An empty text (or one of whitespace only) has length 0, or 1 (``[CLS]``) with
        ``add_cls``: drop such texts before, since a batch needs lengths >= 1.

        Shapes:
            tokens: (N, T_max) int64, T_max the longest length (0 if every text is empty).
            lengths: (N,) int64, each <= ``max_length``.
        """
        tokenizer = self._fitted()
        texts = list(texts)
        if not all(isinstance(t, str) for t in texts):
            raise TypeError("TextTokenizer.encode takes a list of str")
        if self._first_words is not None:
            texts = [_head(self._first_words, t) for t in texts]
        _fork["used"] = True
        encodings = tokenizer.encode_batch_fast(texts, add_special_tokens=False)
        return _pad([e.ids for e in encodings], self.add_cls)

    def id_to_token(self, i: int) -> str:
        """The token of id ``i``; IndexError outside 0 .. V-1."""
        token = self._fitted().id_to_token(int(i))
        if token is None:
            raise IndexError(f"token id {i} is outside the vocabulary (0 .. {self.vocab_size - 1})")
        return token

    def tokens_of(self, ids: Iterable[int] | Tensor) -> list[str]:
        """The tokens of a sequence of ids (a 1-D tensor or a list)."""
        values = ids.tolist() if isinstance(ids, Tensor) else ids
        return [self.id_to_token(i) for i in values]

    def settings(self) -> dict[str, Any]:
        """The constructor's arguments."""
        return {
            "kind": self.kind,
            "vocab_size": self.max_vocab,
            "min_frequency": self.min_frequency,
            "max_length": self.max_length,
            "add_cls": self.add_cls,
        }

    def state(self) -> dict[str, Any]:
        """The settings and the fitted tokenizer's JSON, as plain data."""
        return {**self.settings(), "tokenizer": self._fitted().to_str()}

    @classmethod
    def from_state(cls, state: Mapping[str, Any], owner: str) -> TextTokenizer:
        """The fitted tokenizer :meth:`state` described.

        Args:
            state: what :meth:`state` returned.
            owner: the dataset's name, for messages.

        Raises:
            DataError: a missing or mistyped field, a tokenizer JSON that does not load,
                or one whose kind or special-token ids are not what dlzoo writes.
        """
        if not isinstance(state, Mapping):
            raise DataError(f"the tokenizer state of data '{owner}' is not a mapping")
        fields = {
            "kind": str,
            "vocab_size": int,
            "min_frequency": int,
            "max_length": int,
            "add_cls": bool,
        }
        settings = {k: get_field(state, k, t, owner, f"tokenizer.{k}") for k, t in fields.items()}
        try:
            out = cls(**settings, key="tokenizer")
        except ConfigError as exc:
            raise DataError(f"the tokenizer state of data '{owner}' is bad: {exc}") from None
        out._set(
            _load(get_field(state, "tokenizer", str, owner, "tokenizer.tokenizer"), out.kind, owner)
        )
        return out

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.settings().items())
        size = f", fitted with {self.vocab_size} ids" if self.is_fitted else ", not fitted"
        return f"TextTokenizer({args}{size})"


def _load(text: str, kind: str, owner: str) -> Tokenizer:
    """A tokenizer from its JSON, checked to be of ``kind`` with the special ids in place."""
    where = f"the tokenizer state of data '{owner}'"
    try:
        tokenizer = Tokenizer.from_str(text)
    except Exception as exc:  # the Rust side raises bare Exceptions
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{where} does not load as a tokenizer JSON: {first}") from None
    model = models.WordLevel if kind == "word" else models.BPE
    if not isinstance(tokenizer.model, model):
        found = json.loads(text).get("model", {}).get("type")
        raise DataError(f"{where} holds a {found} model, not the {kind} kind it says")
    for i, token in enumerate(SPECIAL_TOKENS):
        if tokenizer.token_to_id(token) != i:
            raise DataError(
                f"{where} has {token} at id {tokenizer.token_to_id(token)}, expected {i}: "
                "load a state that TextTokenizer.state() wrote"
            )
    return tokenizer
