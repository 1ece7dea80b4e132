"""The text preprocessing pipeline: each step on hand-written text, order, state, errors."""

from __future__ import annotations

import io

import pytest
import torch

from dlzoo.data.text.preprocess import DEFAULT_STEPS, STEPS, TextPreprocessor
from dlzoo.errors import ConfigError, DataError


def one(step: object, text: str) -> str:
    return TextPreprocessor([step])(text)


def shout(text: str) -> str:
    """A user's own step, targeted by its dotted path."""
    return text.upper() + "!"


def replacer(old: str, new: str):
    """A user's own factory: the options in, the step out."""
    return lambda text: text.replace(old, new)


def not_a_step(text: str) -> int:
    return len(text)


@pytest.mark.parametrize(
    ("step", "text", "expected"),
    [
        ("strip_tags", "<p>Hi <b>there</b></p>", " Hi  there  "),
        ("strip_tags", '<?xml version="1.0"?><a href="x">a < b</a><!-- a\nnote -->', "  a < b  "),
        ("unescape_entities", "&amp; &lt; &#39; &eacute;", "& < ' é"),
        ("normalize_unicode", "ﬁne ½ café", "fine 1\u20442 café"),
        ({"name": "normalize_unicode", "form": "NFD"}, "é", "e\u0301"),
        ("strip_accents", "café naïve Ångström", "cafe naive Angstrom"),
        ("lowercase", "The BBC", "the bbc"),
        ("digits", "in 2005 and 3.5", "in 0 and 0.0"),
        ({"name": "digits", "replacement": "<num>"}, "in 2005 and 3.5", "in <num> and <num>.<num>"),
        ({"name": "digits", "replacement": r"\1"}, "a 7", r"a \1"),  # no regex escapes
        ("collapse_whitespace", "  a \t b\n\nc  ", "a b c"),
        ("stop_words", "the cat sat on a mat", "cat sat mat"),
        ({"name": "stop_words", "words": ["cat", "mat"]}, "the cat  sat", "the sat"),
    ],
)
def test_each_step_on_written_examples(step: object, text: str, expected: str) -> None:
    assert one(step, text) == expected


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, "end . ( hi ) , don't ' quote ' students ' 3.5 1,000 x , y . . ."),
        ({"mode": "remove"}, "end   hi   don't  quote  students  3.5 1,000 x y   "),
        (
            {"keep_apostrophes": False},
            "end . ( hi ) , don ' t ' quote ' students ' 3.5 1,000 x , y . . .",
        ),
        (
            {"keep_in_numbers": False},
            "end . ( hi ) , don't ' quote ' students ' 3 . 5 1 , 000 x , y . . .",
        ),
    ],
)
def test_punctuation_separates_or_removes_marks(options: dict, expected: str) -> None:
    # an apostrophe inside a word stays, a leading / trailing one is a mark; so are "." and
    # "," unless between two digits
    text = "end. (hi), don't 'quote' students' 3.5 1,000 x,y..."
    assert one({"name": "punctuation", **options}, text) == expected


@pytest.mark.parametrize(
    "step",
    [
        "punctuation",
        {"name": "punctuation", "mode": "remove"},
        {"name": "punctuation", "keep_apostrophes": False, "keep_in_numbers": False},
        "digits",
    ],
)
def test_ascii_text_takes_a_faster_path_with_the_same_output(step: object) -> None:
    # \x1c is whitespace and \x01 a mark to Python's re; a non-ASCII letter after a space
    # sends the same text down the Unicode path, and must only add itself
    text = "end. (hi), don't 'quote' 3.5 1,000 x,y... a\x1c.b a\x01b _'_ 9'9 12_3 "
    assert one(step, text + "\u00e9") == one(step, text) + "\u00e9"


def test_typographic_apostrophe_counts_as_an_apostrophe() -> None:
    assert one("punctuation", "don\u2019t \u2019em") == "don\u2019t \u2019 em"


def test_default_pipeline_on_a_news_snippet() -> None:
    text = "<p>Caf&eacute; prices rose 12% in 2005, they&#39;d say.</p>\n<br/>  NEXT"
    assert TextPreprocessor()(text) == "cafe prices rose 0 % in 0 , they'd say . next"
    assert TextPreprocessor().state()[:2] == ["strip_tags", "unescape_entities"]
    assert list(DEFAULT_STEPS) == [
        s if isinstance(s, str) else s["name"] for s in TextPreprocessor().state()
    ]


def test_the_order_of_steps_matters() -> None:
    text = "The Cat"
    assert TextPreprocessor(["lowercase", "stop_words"])(text) == "cat"
    assert TextPreprocessor(["stop_words", "lowercase"])(text) == "the cat"  # "The" is not "the"
    # entities decoded after the tags went: "&lt;b&gt;" becomes a tag only then, and stays
    assert TextPreprocessor(["strip_tags", "unescape_entities"])("&lt;b&gt;x") == "<b>x"
    assert TextPreprocessor(["unescape_entities", "strip_tags"])("&lt;b&gt;x") == " x"


def test_no_steps_leave_the_text_and_many_equals_one_by_one() -> None:
    assert TextPreprocessor([])("  As IS  ") == "  As IS  "
    pre = TextPreprocessor()
    texts = ["<i>One</i> 1.", "Two &amp; 22", ""]
    assert pre.many(iter(texts)) == [pre(t) for t in texts] == ["one 0 .", "two & 0", ""]


def test_user_step_by_target_function_factory_and_stdlib() -> None:
    assert one({"_target_": "tests.data.text.test_text_preprocess.shout"}, "hi") == "HI!"
    factory = {"_target_": "tests.data.text.test_text_preprocess.replacer", "old": "-", "new": " "}
    assert one(factory, "well-known") == "well known"
    assert one({"_target_": "string.capwords"}, "a  b") == "A B"
    pre = TextPreprocessor(["lowercase", factory])
    assert pre.state() == ["lowercase", factory]
    assert TextPreprocessor.from_state(pre.state(), "news")("Well-Known") == "well known"


@pytest.mark.parametrize(
    ("step", "names"),
    [
        ({"_target_": "tests.data.no_such_module.fn"}, "no_such_module.fn' cannot be imported"),
        ({"_target_": "tests.data.text.test_text_preprocess.not_a_step"}, "callable str -> str"),
        ({"_target_": "tests.data.text.test_text_preprocess.replacer", "old": "x"}, "failed"),
    ],
)
def test_wrong_user_step_is_a_config_error_naming_the_target(step: dict, names: str) -> None:
    with pytest.raises(ConfigError, match=names):
        TextPreprocessor([step])


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (
            ["lowercase", "stem"],
            r"data\.steps\[1\]: unknown text step 'stem'; the steps are "
            r"strip_tags, .*, stop_words",
        ),
        (
            [{"name": "digits", "repl": "0"}],
            "'digits' has no option repl; its options: replacement",
        ),
        ([{"name": "lowercase", "x": 1}], "'lowercase' has no option x; its options: none"),
        ([{"name": "punctuation", "mode": "drop"}], "mode='drop' is not one of separate, remove"),
        ([{"name": "punctuation", "keep_apostrophes": "yes"}], "must be true or false"),
        ([{"name": "normalize_unicode", "form": "nfkc"}], "form='nfkc' is not one of NFKC"),
        ([{"name": "digits", "replacement": 0}], "must be a string"),
        ([{"name": "stop_words", "words": "french"}], "must be 'english' or a list"),
        ([{"name": "digits", "_target_": "str.upper"}], "a name, a mapping with a 'name'"),
        ([3], "a name, a mapping"),
        ("lowercase", "must be a list of text steps"),
        ([{"name": "digits", "replacement": {1, 2}}], "is a set"),
    ],
)
def test_bad_config_is_one_config_error_line(steps: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        TextPreprocessor(steps, key="data.steps")  # type: ignore[arg-type]
    assert "\n" not in str(caught.value)


def test_state_fills_the_options_and_survives_weights_only_load() -> None:
    steps = ["strip_tags", {"name": "punctuation", "mode": "remove"}, "stop_words", "digits"]
    pre = TextPreprocessor(steps)
    state = pre.state()
    assert state[1] == {
        "name": "punctuation",
        "mode": "remove",
        "keep_apostrophes": True,
        "keep_in_numbers": True,
    }
    assert state[2] == {"name": "stop_words", "words": "english"}
    buffer = io.BytesIO()
    torch.save({"pre": state}, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=True)["pre"]
    again = TextPreprocessor.from_state(loaded, "news")
    assert again.state() == state
    text = "<b>The</b> 3 cats, and 42 dogs!"
    assert again(text) == pre(text) == "The 0 cats 0 dogs"  # "The" is no stop word


def test_state_does_not_share_lists_with_the_pipeline() -> None:
    pre = TextPreprocessor([{"name": "stop_words", "words": ["a"]}])
    pre.state()[0]["words"].append("b")
    assert pre.state() == [{"name": "stop_words", "words": ["a"]}]
    assert pre("a b") == "b"


@pytest.mark.parametrize(
    "state",
    [None, "lowercase", [{"name": "nope"}], [{"name": "digits", "replacement": 5}], [7]],
)
def test_malformed_state_is_a_data_error(state: object) -> None:
    with pytest.raises(DataError, match="fitted state of data 'news' has bad text preprocessing"):
        TextPreprocessor.from_state(state, "news")


def test_every_step_name_builds_with_its_defaults() -> None:
    for name in STEPS:
        assert isinstance(TextPreprocessor([name])("Some <b>text</b>, 12."), str)
