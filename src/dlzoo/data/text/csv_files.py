"""Text classification from a CSV table: one document per row, a text and a label column."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dlzoo.data.base import STAGES
from dlzoo.data.readers import missing_column, read_csv
from dlzoo.data.text.datamodule import Corpus, TextDataModule, text_signature
from dlzoo.errors import DataError

__all__ = ["TextCSVDataModule"]


@text_signature
class TextCSVDataModule(TextDataModule):
    """Your own documents in a CSV file with a header row, one document per row.

    An empty text cell is an empty document (dropped, like those that preprocessing
    empties); an empty label is a DataError. Rows are named ``file.csv:row N``, N
    counting data rows from 1 (the header is not a row). The file is read as UTF-8.

    Args:
        path: the CSV file.
        text_column: the column of the documents.
        label_column: the column of their labels (any values; read as text and sorted
            as text: ``"10"`` comes before ``"2"``).
        split_column: a column of ``train`` / ``val`` / ``test`` per row, to use that
            split instead of the seeded stratified one (``val_fraction`` and
            ``test_fraction`` are then unused), or ``None``.
        **kwargs: as :class:`~dlzoo.data.text.datamodule.TextDataModule`.
    """

    name = "text_csv"

    def __init__(
        self,
        path: str | Path,
        text_column: str = "text",
        label_column: str = "label",
        split_column: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.path = Path(path)
        self.text_column = str(text_column)
        self.label_column = str(label_column)
        self.split_column = None if split_column is None else str(split_column)

    @property
    def location(self) -> str:  # type: ignore[override]
        return str(self.path)

    def read(self) -> Corpus:
        """The text, label (and split) columns of every row."""
        frame = read_csv(
            self.path, "set data.path to a CSV file with a header row", *self._encoding()
        )
        if frame.empty:
            raise DataError(f"CSV file {self.path} has no rows: add documents, one per row")
        texts, sources = _column_texts(self.path, frame, self.text_column, _set("text_column"))
        labels = self._labels(frame, self.label_column, _set("label_column"))
        stages = None
        if self.split_column is not None:
            split = self._labels(frame, self.split_column, _set("split_column") + " (or null)")
            stages = [s.lower() for s in split]
            bad = sorted(set(stages) - set(STAGES))
            if bad:
                raise DataError(
                    f"column '{self.split_column}' of CSV file {self.path} has the value(s) "
                    f"{bad}: each row's split must be one of {', '.join(STAGES)}"
                )
        return Corpus(texts, labels, sources, stages)

    def _encoding(self) -> tuple[str, str]:
        """``read_csv``'s encoding and what to do when a file is not in it."""
        return self.decoder.encoding, "set data.encoding=<its encoding> (e.g. cp1252)"

    def _labels(self, frame: Any, column: str, hint: str) -> list[str]:
        """A column's cells as text; an empty cell is a DataError naming its row."""
        if column not in frame.columns:
            raise missing_column(self.path, frame, column, hint)
        values = frame[column]
        empty = values.isna().to_numpy().nonzero()[0]
        if len(empty):
            raise DataError(
                f"column '{column}' of CSV file {self.path} is empty in data row "
                f"{empty[0] + 1} ({len(empty)} empty cell(s)): fill them or drop those rows"
            )
        return [str(v).strip() for v in values]

    def _predict_documents(self, path: Path) -> tuple[list[str], list[str]]:
        """A ``.csv`` file's text column (other columns are ignored)."""
        if path.suffix.lower() != ".csv" or not path.is_file():
            return super()._predict_documents(path)
        frame = read_csv(path, "give a .csv file with a header row", *self._encoding())
        hint = f"give a CSV file with the training's text column '{self.text_column}'"
        texts, names = _column_texts(path, frame, self.text_column, hint)
        return texts, names


def _set(key: str) -> str:
    return f"set data.{key} to one of them"


def _column_texts(path: Path, frame: Any, column: str, hint: str) -> tuple[list[str], list[str]]:
    """A text column's cells (empty ones as ``""``) and their names ``file.csv:row N``."""
    if column not in frame.columns:
        raise missing_column(path, frame, column, hint)
    cells = frame[column]
    texts = ["" if missing else str(v) for v, missing in zip(cells, cells.isna(), strict=True)]
    return texts, [f"{path.name}:row {i}" for i in range(1, len(texts) + 1)]
