"""Documents per second: dlzoo's preprocessing + `tokenizers` against plain Python.

Both paths take the 2225 raw BBC News articles to padded token-id tensors: build a
vocabulary on every document (as a training split would), then encode every document.

- plain Python (the baseline): ``str.lower``, one ``re.sub`` that drops everything but
  letters, digits and whitespace, ``str.split``, a ``dict`` vocabulary of the words
  seen twice or more, a list of ids per document;
- dlzoo: :class:`~dlzoo.data.text.preprocess.TextPreprocessor` with the bbc_news
  data config's steps (tags, entities, unicode, accents, lowercase, punctuation,
  digits, whitespace), then :class:`~dlzoo.data.text.tokenizer.TextTokenizer` (word level,
  fitted and encoded in Rust by the `tokenizers` library).

    python scripts/bench_text.py [--repeats 5]

Prints the median documents per second of each path and their ratio; no timed
assertion anywhere (this machine's timings vary by tens of percent).
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable

import torch
from omegaconf import OmegaConf

from dlzoo.config.compose import CONFIG_DIR
from dlzoo.data.text.decoding import TextDecoder
from dlzoo.data.text.folder import bbc_news_root
from dlzoo.data.text.preprocess import TextPreprocessor
from dlzoo.data.text.tokenizer import TextTokenizer

CONFIG = CONFIG_DIR / "data" / "bbc_news.yaml"
WORD = re.compile(r"[^a-z0-9\s]+")


def read_corpus() -> list[str]:
    """The raw articles, as bbc_news reads them (one file is cp1252)."""
    decoder = TextDecoder("utf-8", "cp1252")
    return [decoder.read(p) for p in sorted(bbc_news_root().glob("*/*.txt"))]


def plain_python(texts: list[str], max_length: int) -> list[list[int]]:
    """Regex + ``str.split`` + a dict vocabulary: ids per document, truncated."""
    docs = [WORD.sub(" ", t.lower()).split() for t in texts]
    counts = Counter(w for doc in docs for w in doc)
    vocab = {"[PAD]": 0, "[UNK]": 1}
    for word, n in counts.most_common():
        if n >= 2:
            vocab[word] = len(vocab)
    return [[vocab.get(w, 1) for w in doc[:max_length]] for doc in docs]


def dlzoo_path(texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """The bbc_news config's preprocessing and tokenizer: padded ids and lengths."""
    cfg = OmegaConf.to_container(OmegaConf.load(CONFIG), resolve=False)
    pre = TextPreprocessor(cfg["preprocess"])
    tokenizer_kwargs = {k: v for k, v in cfg["tokenizer"].items() if not str(v).startswith("$")}
    cleaned = pre.many(texts)
    return TextTokenizer(**tokenizer_kwargs).fit(cleaned).encode(cleaned)


def rate(fn: Callable[[], object], docs: int, repeats: int) -> float:
    """Median documents per second of ``fn`` over ``repeats`` runs."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return docs / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    texts = read_corpus()
    max_length = int(OmegaConf.load(CONFIG).tokenizer.max_length)
    plain = rate(lambda: plain_python(texts, max_length), len(texts), args.repeats)
    ours = rate(lambda: dlzoo_path(texts), len(texts), args.repeats)
    print(f"corpus: {len(texts)} BBC News articles, {sum(map(len, texts)) / 1e6:.1f} M chars")
    print(f"plain Python (regex + str.split + dict): {plain:8.0f} documents/s")
    print(f"dlzoo (preprocessor + tokenizers):       {ours:8.0f} documents/s")
    print(f"ratio dlzoo / plain: {ours / plain:.2f} x")


if __name__ == "__main__":
    main()
