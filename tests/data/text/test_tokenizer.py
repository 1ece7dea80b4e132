"""The tokenizer: vocabularies learnt from written texts, padding, truncation, state, errors."""

from __future__ import annotations

import io
import os

import pytest
import torch
from tokenizers import Tokenizer, models, trainers

from dlzoo.data.text.tokenizer import CLS, PAD, UNK, TextTokenizer
from dlzoo.errors import ConfigError, DataError

# counts: the 3, cat 2, sat 2, dog 1, ran 1
TRAIN = ["the cat sat", "the dog sat", "the cat ran"]


def word(**kwargs) -> TextTokenizer:
    return TextTokenizer("word", **{"min_frequency": 1, **kwargs}).fit(TRAIN)


def ids(tok: TextTokenizer, text: str) -> list[int]:
    tokens, lengths = tok.encode([text])
    return tokens[0, : lengths[0]].tolist()


def test_word_vocabulary_holds_the_training_words_after_the_special_ids() -> None:
    tok = word()
    assert tok.vocab_size == 8 and tok.is_fitted
    assert tok.tokens_of(range(4)) == [PAD, UNK, CLS, "the"]  # the most frequent first
    assert set(tok.tokens_of(range(3, 8))) == {"the", "cat", "sat", "dog", "ran"}
    the, cat, sat = ids(tok, "the cat sat")
    assert tok.tokens_of([the, cat, sat]) == ["the", "cat", "sat"]
    assert ids(tok, "the bird sat") == [the, tok.unk_id, sat]  # never seen in training
    assert ids(tok, "The CAT") == [1, 1]  # no normalisation here: the preprocessor's job


def test_min_frequency_drops_rare_words() -> None:
    tok = word(min_frequency=2)
    assert set(tok.tokens_of(range(tok.vocab_size))) == {PAD, UNK, CLS, "the", "cat", "sat"}
    assert ids(tok, "dog ran")[:] == [1, 1]


def test_vocab_size_caps_the_vocabulary_special_ids_included() -> None:
    tok = word(vocab_size=5)
    assert tok.vocab_size == 5
    assert tok.tokens_of(range(4)) == [PAD, UNK, CLS, "the"]
    assert tok.tokens_of([4])[0] in {"cat", "sat"}  # the two next most frequent
    with pytest.raises(IndexError, match="outside the vocabulary"):
        tok.id_to_token(5)


def test_padding_is_zero_after_each_length() -> None:
    tok = word()
    tokens, lengths = tok.encode(["the cat sat", "the", "dog cat", ""])
    assert tokens.dtype == lengths.dtype == torch.int64
    assert lengths.tolist() == [3, 1, 2, 0]  # an empty text: length 0, all padding
    assert tokens.shape == (4, 3)
    the, cat, sat = tokens[0].tolist()
    assert tokens.tolist() == [[the, cat, sat], [the, 0, 0], [ids(tok, "dog")[0], cat, 0], [0] * 3]
    assert 0 not in tokens[0].tolist()


def test_max_length_truncates_and_add_cls_comes_first_counted_in() -> None:
    plain = word(max_length=2)
    assert plain.encode(["the cat sat"])[1].tolist() == [2]
    assert plain.tokens_of(plain.encode(["the cat sat"])[0][0]) == ["the", "cat"]
    cls = word(max_length=3, add_cls=True)
    tokens, lengths = cls.encode(["the cat sat", "the", ""])
    assert lengths.tolist() == [3, 2, 1]
    assert cls.tokens_of(tokens[0]) == [CLS, "the", "cat"]
    assert tokens[:, 0].tolist() == [2, 2, 2] and tokens[1:, 2].tolist() == [0, 0]


@pytest.mark.parametrize(("kind", "add_cls"), [("word", False), ("bpe", False), ("bpe", True)])
def test_cutting_the_words_past_max_length_before_encoding_changes_no_id(
    kind: str, add_cls: bool
) -> None:
    # every separator WhitespaceSplit knows, and \x1c (Python's whitespace, not Rust's)
    text = "\u3000the\tcat\x1csat\u2028 the\xa0dog\n\n ran\u2009the cat  sat "
    tok = TextTokenizer(kind, vocab_size=40, min_frequency=1, max_length=4, add_cls=add_cls)
    tok.fit(TRAIN)
    raw = Tokenizer.from_str(tok.state()["tokenizer"])  # the library's own truncation
    raw.enable_truncation(4 - int(add_cls))
    for cut in range(len(text) + 1):
        expected = raw.encode(text[:cut], add_special_tokens=False).ids
        assert ids(tok, text[:cut]) == [2] * add_cls + [1 if i in (0, 2) else i for i in expected]


def test_special_spellings_in_a_text_become_unk() -> None:
    for tok in (word(), word(add_cls=True)):
        start = [2] if tok.add_cls else []
        assert ids(tok, "[PAD] the [CLS] [UNK]") == [*start, 1, ids(tok, "the")[-1], 1, 1]


def test_bpe_splits_an_unseen_word_into_known_pieces() -> None:
    train = ["low lower lowest slow", "new newer newest wider"] * 3
    tok = TextTokenizer("bpe", vocab_size=60, min_frequency=1).fit(train)
    pieces = tok.tokens_of(ids(tok, "slowest"))  # never seen as a whole
    assert "".join(pieces) == "slowest" and len(pieces) > 1 and UNK not in pieces
    assert tok.tokens_of(ids(tok, "lowest")) == ["lowest"]  # a frequent word is one piece
    assert UNK in tok.tokens_of(ids(tok, "zq"))  # characters never seen
    assert tok.tokens_of(range(3)) == [PAD, UNK, CLS]


def test_bpe_vocab_size_is_an_upper_bound_even_below_the_alphabet() -> None:
    tok = TextTokenizer("bpe", vocab_size=8, min_frequency=1).fit(["abcdefghijklmnop aab"])
    assert tok.vocab_size <= 8
    assert tok.tokens_of(ids(tok, "a")) == ["a"]  # the most frequent characters are kept


@pytest.mark.parametrize("kind", ["word", "bpe"])
def test_state_round_trip_encodes_identically_in_a_fresh_object(kind: str) -> None:
    tok = TextTokenizer(kind, vocab_size=40, min_frequency=1, max_length=4, add_cls=True)
    tok.fit(TRAIN)
    buffer = io.BytesIO()
    torch.save({"tokenizer": tok.state()}, buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)["tokenizer"]
    again = TextTokenizer.from_state(state, "news")
    assert again.settings() == tok.settings() and again.vocab_size == tok.vocab_size
    texts = ["the cat sat on the mat", "dogs ran", "", "the"]
    for a, b in zip(tok.encode(texts), again.encode(texts), strict=True):
        assert torch.equal(a, b)
    assert again.state() == state


def _swapped_specials() -> str:
    tok = Tokenizer(models.WordLevel(unk_token=UNK))
    tok.train_from_iterator(TRAIN, trainers.WordLevelTrainer(special_tokens=[UNK, PAD, CLS]))
    return tok.to_str()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tokenizer": None}, "tokenizer.tokenizer=None, expected a str"),
        ({"vocab_size": "40"}, "tokenizer.vocab_size='40', expected a int"),
        ({"add_cls": 1}, "tokenizer.add_cls=1, expected a bool"),
        ({"kind": "char"}, "is bad: tokenizer.kind='char' is not one of word, bpe"),
        ({"max_length": 0}, "is bad: tokenizer.max_length=0 must be an integer >= 1"),
        ({"tokenizer": "{not json"}, "does not load as a tokenizer JSON"),
        ({"kind": "bpe"}, "holds a WordLevel model, not the bpe kind"),
        ({"tokenizer": _swapped_specials()}, r"has \[PAD\] at id 1, expected 0"),
    ],
)
def test_malformed_state_is_a_data_error_naming_the_problem(change: dict, message: str) -> None:
    state = {**word().state(), **change}
    with pytest.raises(DataError, match=message) as caught:
        TextTokenizer.from_state(state, "news")
    assert "\n" not in str(caught.value) and "news" in str(caught.value)


def test_state_that_is_not_a_mapping_is_a_data_error() -> None:
    with pytest.raises(DataError, match="not a mapping"):
        TextTokenizer.from_state(["word"], "news")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "char"}, "data.tokenizer.kind='char' is not one of word, bpe"),
        ({"vocab_size": 3}, "vocab_size=3 must be an integer >= 4"),
        ({"vocab_size": True}, "vocab_size=True"),
        ({"vocab_size": 100.0}, "vocab_size=100.0"),
        ({"min_frequency": 0}, "min_frequency=0 must be an integer >= 1"),
        ({"max_length": 0}, "max_length=0 must be an integer >= 1"),
        ({"max_length": 1, "add_cls": True}, "max_length=1 must be an integer >= 2"),
        ({"add_cls": "yes"}, "add_cls='yes' must be true or false"),
    ],
)
def test_bad_settings_are_config_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TextTokenizer(**kwargs)


def test_using_it_before_fit_is_a_clear_runtime_error() -> None:
    tok = TextTokenizer()
    assert not tok.is_fitted
    for use in (lambda: tok.encode(["a"]), lambda: tok.vocab_size, tok.state):
        with pytest.raises(RuntimeError, match=r"not fitted: call fit\(train_texts\) first"):
            use()


def test_encode_takes_strings_only() -> None:
    with pytest.raises(TypeError, match="list of str"):
        word().encode(["the", 3])  # type: ignore[list-item]


def _child_sees(tok: TextTokenizer) -> str:
    """TOKENIZERS_PARALLELISM as a forked child sees it, after the parent tokenised."""
    tok.encode(["the cat"] * 100)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report and leave at once
        os.write(write, os.environ.get("TOKENIZERS_PARALLELISM", "<unset>").encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as pipe:
        return pipe.read()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_children_get_parallelism_off_and_the_parent_keeps_its_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TOKENIZERS_PARALLELISM", raising=False)
    tok = word()
    assert _child_sees(tok) == "false"
    assert "TOKENIZERS_PARALLELISM" not in os.environ
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "true")  # the user's choice wins
    assert _child_sees(tok) == "true"
    assert os.environ["TOKENIZERS_PARALLELISM"] == "true"
