"""Text cleaning as a pipeline of named steps, configured in the data config.

A dataset adapts its cleaning without code: ``steps`` lists step names, or mappings
with a ``name`` and that step's options, or a user's own step by ``_target_``::

    steps:
      - strip_tags
      - {name: punctuation, mode: remove}
      - {name: digits, replacement: "<num>"}
      - {_target_: mypkg.clean.fix_quotes}            # a callable str -> str
      - {_target_: mypkg.clean.Replace, old: "-", new: " "}  # a factory given the options

The steps, in the order a pipeline applies them (:data:`STEPS`):

================== ========================================================================
strip_tags         XML / HTML tags and comments become one space each:
                   ``"<p>Hi <b>there</b></p>"`` -> ``" Hi  there  "``; a ``<`` not opening a
                   tag (``"a < b"``) stays.
unescape_entities  HTML entities (``html.unescape``): ``"&amp; &lt; &#39; &eacute;"`` ->
                   ``"& < ' é"``.
normalize_unicode  ``unicodedata.normalize(form)``, ``form`` NFKC (default), NFC, NFKD or NFD.
strip_accents      NFKD, then combining marks dropped: ``"café naïve"`` -> ``"cafe naive"``.
lowercase          ``str.lower``.
punctuation        ``mode=separate`` (default) puts a space between a punctuation mark and
                   its neighbours (``"end."`` -> ``"end ."``, ``"(hi)"`` -> ``"( hi )"``);
                   ``mode=remove`` turns each mark into a space (``"a,b."`` -> ``"a b "``).
                   A mark is any character that is neither a letter, a digit, ``_`` nor
                   whitespace. ``keep_apostrophes`` (default true) keeps an apostrophe
                   between two letters or digits (``"don't"`` stays; a leading or trailing
                   one, as in ``"'quoted'"`` or ``"students'"``, is a mark);
                   ``keep_in_numbers`` (default true) keeps a ``.`` or ``,`` between two
                   digits (``"3.5"``, ``"1,000"`` stay whole).
digits             every run of digits becomes ``replacement`` (default ``"0"``), one per
                   run, not per digit: ``"in 2005 and 3.5"`` -> ``"in 0 and 0.0"``.
collapse_whitespace  runs of whitespace become one space; leading / trailing ones go.
stop_words         drops each whitespace-separated word found in ``words``: ``"english"``
                   (default, scikit-learn's ``ENGLISH_STOP_WORDS``, lower case) or a list.
                   Exact, case-sensitive matching, so it goes after ``lowercase`` and
                   ``punctuation``; the words left are joined by single spaces.
================== ========================================================================

A ``_target_`` step is resolved as ``hydra.utils.get_object`` does: a class is called with
the mapping's other keys; a function is the step itself when there are none, or else a
factory called with them that returns the step. Either way the step must map a str to a
str (it is tried once on a probe text when the pipeline is built).

Order matters (``stop_words`` before ``lowercase`` keeps ``"The"``), so
:data:`DEFAULT_STEPS`, an English news pipeline, lists them in the order above, without
``stop_words``. :meth:`TextPreprocessor.state` is the spec with every option filled in,
as plain data (a checkpoint read with ``torch.load(weights_only=True)`` holds it), and
:meth:`TextPreprocessor.from_state` rebuilds the same pipeline from it.
"""

from __future__ import annotations

import copy
import functools
import html
import inspect
import pkgutil
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

# hydra.utils.get_object is this plus an ERROR log line for every bad path: the
# ConfigError below says it once
from omegaconf import DictConfig, ListConfig, OmegaConf

from dlzoo.data.state import check_plain
from dlzoo.errors import ConfigError, DataError

__all__ = ["DEFAULT_STEPS", "STEPS", "TextPreprocessor"]

Step = Callable[[str], str]

# a tag opens with a letter, "/", "!" (comments, doctypes) or "?" (processing instructions)
_TAGS = re.compile(r"<(?:!--.*?--|[!?/]?[A-Za-z][^<>]*)>", re.DOTALL)
_FORMS = ("NFKC", "NFC", "NFKD", "NFD")
_MODES = ("separate", "remove")
_APOSTROPHES = "'\u2019"  # typewriter and typographic
_PROBE = "Probe text, 1 <b>word</b>."


def strip_tags() -> Step:
    """XML / HTML tags and comments, each replaced by one space."""
    return functools.partial(_TAGS.sub, " ")


def unescape_entities() -> Step:
    """HTML entities, named and numeric, decoded."""
    return html.unescape


def normalize_unicode(form: str = "NFKC") -> Step:
    """Unicode normalisation to ``form``."""
    if form not in _FORMS:
        raise ConfigError(f"form={form!r} is not one of {', '.join(_FORMS)}")
    return functools.partial(unicodedata.normalize, form)


def _without_accents(text: str) -> str:
    if text.isascii():  # most English text: nothing to decompose
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    # the marks among the few distinct characters, then one translate in C: a generator
    # over every character cost as much as the rest of the pipeline
    marks = [c for c in set(decomposed) if unicodedata.combining(c)]
    return decomposed.translate(dict.fromkeys(map(ord, marks))) if marks else decomposed


def strip_accents() -> Step:
    """Accents (combining marks after NFKD) dropped."""
    return _without_accents


def lowercase() -> Step:
    """Lower case."""
    return str.lower


# \w, \d and \s as spelt inside a character class, and what they match below 128: on
# ASCII text the second spelling matches the same by a bitmap test, where the first looks
# up the Unicode tables for each character (a scan in half the time)
_UNICODE = {"w": r"\w", "d": r"\d", "s": r"\s"}
_ASCII = {"w": "0-9A-Za-z_", "d": "0-9", "s": r"\t-\r\x1c-\x20"}


def _twins(template: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """``template`` with Unicode classes and with ASCII ones: index it by ``text.isascii()``."""
    return re.compile(template.format(**_UNICODE)), re.compile(template.format(**_ASCII))


class _Sub:
    """``pattern.sub(replacement, text)``, on the pattern's ASCII twin for ASCII text."""

    def __init__(self, template: str, replacement: str) -> None:
        self._patterns = _twins(template)
        self._replacement = replacement

    def __call__(self, text: str) -> str:
        return self._patterns[text.isascii()].sub(self._replacement, text)


def _flag(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{key}={value!r} must be true or false")
    return value


def _mark_template(keep_apostrophes: bool, keep_in_numbers: bool) -> str:
    """One punctuation mark, captured, for :func:`_twins`.

    The mark is matched first and its neighbours checked after it, by lookarounds: a
    pattern that opens with a character class lets ``re`` skip to the candidates in C,
    where one opening with a lookaround is tried at every position (3x slower).
    """
    kept = _APOSTROPHES if keep_apostrophes else ""
    kept += ".," if keep_in_numbers else ""
    if not kept:
        return "([^{w}{s}])"
    checks = [f"(?<=[^{kept}])"]
    if keep_apostrophes:  # an apostrophe is a mark unless a letter or digit is on both sides
        checks += [f"(?<=[{_APOSTROPHES}])(?:(?<![{{w}}][{_APOSTROPHES}])|(?![{{w}}]))"]
    if keep_in_numbers:  # "." and "," are marks unless a digit is on both sides
        checks += ["(?<=[.,])(?:(?<![{d}][.,])|(?![{d}]))"]
    return "([^{w}{s}])(?:" + "|".join(checks) + ")"


class _Separate:
    """A space between each punctuation mark and each non-space neighbour, one at most.

    Two passes, one for the space before the marks, one for the space after (it sees the
    first one's spaces, so two touching marks get one space between them). Each splits
    the text at its marks and joins the pieces with spaces, all in C: a replacement
    template (``" \\1"``) would call Python once per mark.
    """

    def __init__(self, mark: str) -> None:
        self._before = _twins(mark + "(?<=[^{s}][^{s}])")  # the mark and the one before it
        self._after = _twins(mark + "(?=[^{s}])")

    def __call__(self, text: str) -> str:
        ascii_ = text.isascii()  # spaces added keep it so
        pieces = self._before[ascii_].split(text)  # text, mark, text, mark, ..., text
        if len(pieces) > 1:  # each mark opens the piece after it
            text = " ".join([pieces[0], *map(str.__add__, pieces[1::2], pieces[2::2])])
        pieces = self._after[ascii_].split(text)
        if len(pieces) > 1:  # each mark closes the piece before it
            text = " ".join([*map(str.__add__, pieces[0::2], pieces[1::2]), pieces[-1]])
        return text


def punctuation(
    mode: str = "separate", keep_apostrophes: bool = True, keep_in_numbers: bool = True
) -> Step:
    """Punctuation marks separated from their neighbours by spaces, or removed."""
    if mode not in _MODES:
        raise ConfigError(f"mode={mode!r} is not one of {', '.join(_MODES)}")
    mark = _mark_template(
        _flag("keep_apostrophes", keep_apostrophes), _flag("keep_in_numbers", keep_in_numbers)
    )
    return _Sub(mark, " ") if mode == "remove" else _Separate(mark)


def digits(replacement: str = "0") -> Step:
    """Every run of digits replaced by ``replacement``."""
    if not isinstance(replacement, str):
        raise ConfigError(f"replacement={replacement!r} must be a string (e.g. '0' or '<num>')")
    # a digit then any more, not "one or more": a pattern opening with a class lets re skip
    # ahead in C (1.5x faster); re reads backslashes in a replacement string as escapes,
    # the user means them literally
    return _Sub("[{d}][{d}]*", replacement.replace("\\", "\\\\"))


def _split_join(text: str) -> str:
    return " ".join(text.split())


def collapse_whitespace() -> Step:
    """Whitespace runs collapsed to one space, both ends stripped."""
    return _split_join


class _DropWords:
    """Drops the whitespace-separated words found in a set."""

    def __init__(self, words: frozenset[str]) -> None:
        self.words = words

    def __call__(self, text: str) -> str:
        return " ".join(w for w in text.split() if w not in self.words)


def stop_words(words: str | Sequence[str] = "english") -> Step:
    """Stop words dropped: ``"english"`` (scikit-learn's list) or the words given."""
    if words == "english":
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        return _DropWords(frozenset(ENGLISH_STOP_WORDS))
    if isinstance(words, str) or not all(isinstance(w, str) for w in words):
        raise ConfigError(f"words={words!r} must be 'english' or a list of words")
    return _DropWords(frozenset(words))


STEPS: dict[str, Callable[..., Step]] = {
    "strip_tags": strip_tags,
    "unescape_entities": unescape_entities,
    "normalize_unicode": normalize_unicode,
    "strip_accents": strip_accents,
    "lowercase": lowercase,
    "punctuation": punctuation,
    "digits": digits,
    "collapse_whitespace": collapse_whitespace,
    "stop_words": stop_words,
}

DEFAULT_STEPS: tuple[str, ...] = (
    "strip_tags",
    "unescape_entities",
    "normalize_unicode",
    "strip_accents",
    "lowercase",
    "punctuation",
    "digits",
    "collapse_whitespace",
)


def _plain(value: Any) -> Any:
    if isinstance(value, DictConfig | ListConfig):
        return OmegaConf.to_container(value, resolve=True)
    return value


def _named_step(name: str, options: dict[str, Any], where: str) -> tuple[Step, Any]:
    """A built-in step and its spec with every option filled in (a bare name if it has none)."""
    if name not in STEPS:
        raise ConfigError(
            f"{where}: unknown text step {name!r}; the steps are {', '.join(STEPS)} "
            "(or a mapping with a _target_ for your own)"
        )
    params = inspect.signature(STEPS[name]).parameters
    unknown = sorted(set(options) - set(params))
    if unknown:
        valid = ", ".join(params) or "none"
        raise ConfigError(
            f"{where}: text step {name!r} has no option {', '.join(unknown)}; its options: {valid}"
        )
    filled = {key: p.default for key, p in params.items()} | options
    if isinstance(filled.get("words"), list | tuple):
        filled["words"] = list(filled["words"])
    try:
        step = STEPS[name](**filled)
    except ConfigError as exc:
        raise ConfigError(f"{where}: text step {name!r}: {exc}") from None
    return step, ({"name": name, **filled} if filled else name)


def _target_step(target: Any, options: dict[str, Any], where: str) -> Step:
    """A user's step from its ``_target_``: the callable, or what a factory returns."""
    try:
        found = pkgutil.resolve_name(str(target))
    except Exception as exc:
        raise ConfigError(
            f"{where}: _target_={target!r} cannot be imported ({type(exc).__name__}); "
            "give the dotted path of a callable str -> str, e.g. string.capwords"
        ) from None
    try:
        step = found(**options) if options or inspect.isclass(found) else found
        ok = callable(step) and isinstance(step(_PROBE), str)
    except Exception as exc:
        raise ConfigError(
            f"{where}: _target_={target!r} failed: {type(exc).__name__}: {exc}"
        ) from None
    if not ok:
        raise ConfigError(
            f"{where}: _target_={target!r} does not give a callable str -> str "
            "(a function of the text, or a factory returning one)"
        )
    return step


def _build(spec: Any, where: str) -> tuple[Step, Any]:
    """One step from its spec: a name, ``{name: ..., **options}`` or ``{_target_: ...}``."""
    spec = _plain(spec)
    if isinstance(spec, str):
        return _named_step(spec, {}, where)
    if not isinstance(spec, Mapping) or ("name" in spec) == ("_target_" in spec):
        raise ConfigError(
            f"{where}={spec!r}: a text step is a name, a mapping with a 'name' and its "
            "options, or a mapping with a '_target_'"
        )
    options = {str(k): v for k, v in spec.items() if k not in ("name", "_target_")}
    try:
        check_plain(options, where)
    except DataError as exc:
        raise ConfigError(f"{exc}: give plain options") from None
    if "name" in spec:
        return _named_step(str(spec["name"]), options, where)
    return _target_step(spec["_target_"], options, where), {"_target_": spec["_target_"], **options}


class TextPreprocessor:
    """A pipeline of named steps from the data config, applied in order to each document.

    Args:
        steps: the steps in order; each a name (``"lowercase"``), a mapping with a
            ``name`` and options (``{"name": "digits", "replacement": "<num>"}``) or a
            user's step by ``_target_`` (see the module's docstring). An empty list
            leaves texts as they are.
        key: the config key the steps come from, for messages.

    Raises:
        ConfigError: an unknown step, an unknown or bad option, or a ``_target_`` that
            does not give a callable str -> str; one line naming it and the valid choices.
    """

    def __init__(
        self, steps: Sequence[str | Mapping[str, Any]] = DEFAULT_STEPS, key: str = "data.steps"
    ) -> None:
        steps = _plain(steps)
        if isinstance(steps, str | Mapping) or not isinstance(steps, Sequence):
            raise ConfigError(f"{key}={steps!r} must be a list of text steps")
        built = [_build(spec, f"{key}[{i}]") for i, spec in enumerate(steps)]
        self._steps = tuple(step for step, _ in built)
        self._spec = [spec for _, spec in built]

    def __call__(self, text: str) -> str:
        """One document, cleaned."""
        for step in self._steps:
            text = step(text)
        return text

    def many(self, texts: Iterable[str]) -> list[str]:
        """Many documents, cleaned (step by step over the whole list: fewer Python calls)."""
        out = list(texts)
        for step in self._steps:
            out = list(map(step, out))
        return out

    def state(self) -> list[Any]:
        """The steps with every option filled in, as plain data."""
        return copy.deepcopy(self._spec)

    @classmethod
    def from_state(cls, state: Any, owner: str) -> TextPreprocessor:
        """The pipeline that :meth:`state` described.

        Args:
            state: what :meth:`state` returned.
            owner: the dataset's name, for messages.

        Raises:
            DataError: the state is not a list of valid step specs.
        """
        try:
            if not isinstance(state, list | tuple):
                raise ConfigError(f"{state!r} is not a list of text steps")
            return cls(list(state), key="steps")
        except ConfigError as exc:
            raise DataError(
                f"the fitted state of data '{owner}' has bad text preprocessing steps: {exc}"
            ) from None

    def __repr__(self) -> str:
        return f"TextPreprocessor({self._spec!r})"
