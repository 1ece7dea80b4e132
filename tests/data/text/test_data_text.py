"""Text datamodules: folders, CSV and BBC News; train-only tokenizer, padded batches."""

from __future__ import annotations

import inspect
import io
import logging
from pathlib import Path

import pytest
import torch
from hydra.utils import get_class, instantiate
from omegaconf import OmegaConf

from dlzoo.config.compose import CONFIG_DIR
from dlzoo.data.sequence_loader import PaddedSequenceLoader
from dlzoo.data.text.baseline import tfidf_logreg_accuracy
from dlzoo.data.text.csv_files import TextCSVDataModule
from dlzoo.data.text.datamodule import TextDataModule
from dlzoo.data.text.folder import BBCNewsDataModule, TextFolderDataModule
from dlzoo.data.text.preprocess import TextPreprocessor
from dlzoo.data.text.tokenizer import TextTokenizer
from dlzoo.errors import ConfigError, DataError

CONF = CONFIG_DIR / "data"
TOPICS = {
    "food": ["bread", "cheese", "soup", "pasta"],
    "sport": ["goal", "match", "team", "score"],
    "tech": ["chip", "code", "robot", "data"],
}
# every topic word twice per document: known to a tokenizer with min_frequency 2
TOKENIZER = {"min_frequency": 1, "max_length": 64}


def document(topic: str, i: int) -> str:
    """One line: a word of its own (``w<topic><letter i>``, in no other document; no
    digits, which preprocessing replaces) and ``2 * (i % 5 + 1)`` topic words."""
    words = TOPICS[topic]
    body = " ".join(words[(i + k) % 4] for k in range(2 * (i % 5 + 1)))
    return f"W{topic}{'abcdefghijklmnop'[i]} {body.title()}."


def write_folder(root: Path, per_class: int = 10) -> Path:
    for topic in TOPICS:
        (root / topic).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            (root / topic / f"{i:02d}.txt").write_text(document(topic, i), encoding="utf-8")
    return root


def write_csv(path: Path, rows: list[tuple[str, ...]], header: str = "text,label") -> Path:
    lines = [header] + [",".join(f'"{c}"' for c in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def csv_rows(per_class: int = 10) -> list[tuple[str, str]]:
    return [(document(t, i), t) for t in TOPICS for i in range(per_class)]


def ready(dm: TextDataModule) -> TextDataModule:
    dm.prepare_data()
    dm.setup("fit")
    return dm


@pytest.fixture
def folder_dm(tmp_path: Path) -> TextFolderDataModule:
    return ready(TextFolderDataModule(write_folder(tmp_path / "docs"), tokenizer=TOKENIZER))


# ---------------------------------------------------------------------- reading, splitting


def test_folder_labels_split_and_tensors(folder_dm: TextFolderDataModule) -> None:
    dm = folder_dm
    assert dm.name == "text_folder" and dm.class_names == ["food", "sport", "tech"]
    assert dm.net_kwargs() == {
        "vocab_size": dm.tokenizer.vocab_size,
        "padding_idx": 0,
        "num_classes": 3,
    }
    # 10 per class: 7 / 1.5 / 1.5 -> 7 train each, 4 + 5 (or 5 + 4) val / test in all
    sizes = {s: len(idx) for s, idx in dm.split_indices.items()}
    assert sizes["train"] == 21 and sizes["val"] + sizes["test"] == 9
    all_idx = torch.cat([torch.from_numpy(i) for i in dm.split_indices.values()])
    assert sorted(all_idx.tolist()) == list(range(30))
    for stage, (tokens, y, lengths) in dm.tensors.items():
        assert tokens.dtype == y.dtype == lengths.dtype == torch.int64
        assert tokens.shape == (len(y), int(lengths.max())) and int(lengths.min()) >= 1
        # the texts kept per stage line up with the rows: label and length agree
        for text, source, label, n in zip(
            dm.texts[stage], dm.sources[stage], y.tolist(), lengths.tolist(), strict=True
        ):
            assert Path(source).parent.name == dm.class_names[label]
            assert text == dm.preprocessor(Path(source).read_text())
            assert n == len(text.split())  # word-level: one id per word


def test_tokenizer_never_sees_val_or_test_documents(folder_dm: TextFolderDataModule) -> None:
    dm = folder_dm
    for stage in ("train", "val", "test"):
        tokens, _, _ = dm.tensors[stage]
        for row, text in zip(tokens, dm.texts[stage], strict=True):
            own = text.split()[0]  # the document's own word, e.g. "wfoodc"
            assert own.startswith("w") and own[1:-1] in TOPICS
            expected_unknown = stage != "train"
            assert (int(row[0]) == dm.tokenizer.unk_id) == expected_unknown, (stage, own)
    vocab = {dm.tokenizer.id_to_token(i) for i in range(dm.tokenizer.vocab_size)}
    assert {w for words in TOPICS.values() for w in words} <= vocab


def test_split_is_seeded(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "docs")

    def split(seed: int) -> dict[str, list[int]]:
        dm = ready(TextFolderDataModule(root, seed=seed, tokenizer=TOKENIZER))
        return {s: idx.tolist() for s, idx in dm.split_indices.items()}

    assert split(3) == split(3)
    assert split(3) != split(4)


def test_empty_documents_are_dropped_and_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = write_folder(tmp_path / "docs")
    (root / "tech" / "empty1.txt").write_text("<p> </p>\n")  # nothing left once tags go
    (root / "food" / "empty2.txt").write_text("   \n\n")
    with caplog.at_level(logging.INFO, logger="dlzoo.data.text.datamodule"):
        dm = ready(TextFolderDataModule(root, tokenizer=TOKENIZER))
    assert sum(len(idx) for idx in dm.split_indices.values()) == 30
    (message,) = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert "2 document(s) empty after preprocessing" in message
    assert "empty1.txt" in message and "empty2.txt" in message


def test_csv_reads_columns_and_drops_empty_text(tmp_path: Path) -> None:
    rows = [(f"{label},{text}",) for text, label in csv_rows()]  # label first
    path = tmp_path / "docs.csv"
    path.write_text("topic,body\n" + "\n".join(r[0] for r in rows) + "\nsport,\n")
    dm = ready(
        TextCSVDataModule(path, text_column="body", label_column="topic", tokenizer=TOKENIZER)
    )
    assert dm.name == "text_csv" and dm.class_names == ["food", "sport", "tech"]
    assert sum(len(idx) for idx in dm.split_indices.values()) == 30  # the empty row dropped
    sources = [s for stage in dm.sources.values() for s in stage]
    assert "docs.csv:row 1" in sources and "docs.csv:row 31" not in sources


def test_csv_split_column_is_used(tmp_path: Path) -> None:
    rows = [
        (text, label, "test" if i % 5 == 0 else "train" if i % 5 > 1 else "val")
        for i, (text, label) in enumerate(csv_rows())
    ]
    path = write_csv(tmp_path / "docs.csv", rows, header="text,label,part")
    dm = ready(TextCSVDataModule(path, split_column="part", tokenizer=TOKENIZER))
    assert dm.split_indices["test"].tolist() == list(range(0, 30, 5))
    assert dm.split_indices["val"].tolist() == list(range(1, 30, 5))


# ---------------------------------------------------------------------- bad input


def test_val_or_test_class_absent_from_training_is_an_error(tmp_path: Path) -> None:
    rows = [(text, label, "train") for text, label in csv_rows()]
    rows += [("a new kind of text", "weather", "test"), ("more", "food", "val")]
    path = write_csv(tmp_path / "docs.csv", rows, header="text,label,part")
    with pytest.raises(
        DataError, match=r"\['weather'\] occur in the test split but in no training"
    ):
        ready(TextCSVDataModule(path, split_column="part", tokenizer=TOKENIZER))
    rows[0] = (rows[0][0], rows[0][1], "later")
    write_csv(path, rows, header="text,label,part")
    with pytest.raises(DataError, match=r"\['later'\]: each row's split must be one of train"):
        ready(TextCSVDataModule(path, split_column="part"))


def test_non_utf8_file_names_the_file_and_the_fix(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = write_folder(tmp_path / "docs")
    bad = root / "food" / "pound.txt"
    bad.write_bytes("Bread costs \u00a33 now".encode("cp1252"))
    with pytest.raises(
        DataError, match=r"pound\.txt is not utf-8 text .*data\.encoding_fallback=cp1252"
    ):
        ready(TextFolderDataModule(root, tokenizer=TOKENIZER))
    with caplog.at_level(logging.INFO, logger="dlzoo.data.text.decoding"):
        dm = ready(TextFolderDataModule(root, encoding_fallback="cp1252", tokenizer=TOKENIZER))
    assert any("pound.txt" in r.getMessage() and "cp1252" in r.getMessage() for r in caplog.records)
    texts = [t for stage in dm.texts.values() for t in stage]
    assert dm.preprocessor("Bread costs \u00a33 now") in texts  # the pound sign decoded
    with pytest.raises(ConfigError, match=r"data.encoding='klingon'"):
        TextFolderDataModule(root, encoding="klingon")


def test_missing_column_lists_the_columns(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "docs.csv", csv_rows(), header="body,label")
    with pytest.raises(
        DataError, match=r"no column 'text'; its columns are body, label: set data.text_column"
    ):
        ready(TextCSVDataModule(path))
    rows = [(t, "" if i == 3 else label) for i, (t, label) in enumerate(csv_rows())]
    write_csv(path, rows)
    with pytest.raises(DataError, match=r"column 'label' .* is empty in data row 4"):
        ready(TextCSVDataModule(path))


def test_empty_corpus_names_the_place(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"has no class subfolders"):
        ready(TextFolderDataModule(tmp_path))
    (tmp_path / "a").mkdir()
    with pytest.raises(DataError, match=r"class folder .*a has no \.txt files"):
        ready(TextFolderDataModule(tmp_path))
    (tmp_path / "a" / "1.txt").write_text("<br/>")
    with pytest.raises(DataError, match=f"no documents with text in {tmp_path}"):
        ready(TextFolderDataModule(tmp_path))
    path = write_csv(tmp_path / "empty.csv", [])
    with pytest.raises(DataError, match=r"empty.csv has no rows"):
        ready(TextCSVDataModule(path))
    with pytest.raises(DataError, match=r"does not exist: set data.root"):
        ready(TextFolderDataModule(tmp_path / "nowhere"))


def test_bad_config_values() -> None:
    with pytest.raises(ConfigError, match=r"unknown key"):
        TextFolderDataModule("x", tokenizer={"vocab": 10})
    with pytest.raises(ConfigError, match=r"unknown text step 'shout'"):
        TextFolderDataModule("x", preprocess=["lowercase", "shout"])
    with pytest.raises(ConfigError, match=r"val_fraction"):
        TextFolderDataModule("x", val_fraction=0.6, test_fraction=0.5)


# ---------------------------------------------------------------------- fitted state, predict


def test_fitted_state_round_trip_and_prediction(
    folder_dm: TextFolderDataModule, tmp_path: Path
) -> None:
    dm = folder_dm
    state = dm.fitted_state()
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)  # plain data only
    fresh = TextFolderDataModule(tmp_path / "not-read", tokenizer=TOKENIZER)
    fresh.load_fitted_state(state)
    assert fresh.net_kwargs() == dm.net_kwargs() and fresh.class_names == dm.class_names
    # the test documents, one per line (with a blank line): encoded as in training
    lines = tmp_path / "lines.txt"
    lines.write_text("\n".join(Path(s).read_text() for s in dm.sources["test"][:2]) + "\n\n")
    predicted = fresh.predict_inputs(lines)
    tokens, lengths = predicted.inputs
    assert predicted.names == ["lines.txt:1", "lines.txt:2"]
    test_tokens, _, test_lengths = dm.tensors["test"]
    assert torch.equal(lengths, test_lengths[:2])
    assert torch.equal(tokens, test_tokens[:2, : int(lengths.max())])
    assert torch.equal(fresh.input_transform()(tokens, lengths), tokens)
    # a folder of .txt files: one document each, named by file
    folder = Path(dm.sources["train"][0]).parent
    assert fresh.predict_inputs(folder).names == sorted(p.name for p in folder.glob("*.txt"))


def test_fitted_state_must_match_config_and_data(
    folder_dm: TextFolderDataModule, tmp_path: Path
) -> None:
    state = folder_dm.fitted_state()
    with pytest.raises(
        DataError, match=r"tokenizer.min_frequency=1 but data.tokenizer.min_frequency=2"
    ):
        TextFolderDataModule("x").load_fitted_state(state)
    with pytest.raises(DataError, match=r"data.preprocess"):
        TextFolderDataModule("x", preprocess=["lowercase"], tokenizer=TOKENIZER).load_fitted_state(
            state
        )
    # the same data fits the same state; other data does not
    same = TextFolderDataModule(folder_dm.root, tokenizer=TOKENIZER)
    same.load_fitted_state(state)
    ready(same)
    other_root = write_folder(tmp_path / "other", per_class=12)
    other = TextFolderDataModule(other_root, tokenizer=TOKENIZER)
    other.load_fitted_state(state)
    with pytest.raises(DataError, match=r"differs from the one fitted on this data"):
        ready(other)
    with pytest.raises(DataError, match=r"is for data 'text_folder', not 'bbc_news'"):
        BBCNewsDataModule().load_fitted_state(state)


def test_predict_input_errors(folder_dm: TextFolderDataModule, tmp_path: Path) -> None:
    lines = tmp_path / "lines.txt"
    lines.write_text("goal match\n\n<b></b>\n")
    with pytest.raises(DataError, match=r"lines\.txt:3 of .* is empty after preprocessing"):
        folder_dm.predict_inputs(lines)
    lines.write_text("\n \n")
    with pytest.raises(DataError, match=r"holds no documents"):
        folder_dm.predict_inputs(lines)
    with pytest.raises(DataError, match=r"does not exist: give a .txt file"):
        folder_dm.predict_inputs(tmp_path / "missing.txt")
    (tmp_path / "docs.csv").write_text("text\ngoal\n")
    with pytest.raises(DataError, match=r"is not a .txt file or a folder"):
        folder_dm.predict_inputs(tmp_path / "docs.csv")


def test_csv_predicts_from_its_text_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "docs.csv", csv_rows())
    dm = ready(TextCSVDataModule(path, tokenizer=TOKENIZER))
    new = write_csv(tmp_path / "new.csv", [("Goal goal", "x"), ("Chip robot", "y")])
    predicted = dm.predict_inputs(new)
    assert predicted.names == ["new.csv:row 1", "new.csv:row 2"]
    tokens, lengths = predicted.inputs
    assert dm.tokenizer.tokens_of(tokens[0]) == ["goal", "goal"]
    assert lengths.tolist() == [2, 2]
    write_csv(new, [("Goal",)], header="body")
    with pytest.raises(DataError, match=r"no column 'text'"):
        dm.predict_inputs(new)


# ---------------------------------------------------------------------- batches


def test_batches_are_padded_to_their_own_longest(folder_dm: TextFolderDataModule) -> None:
    folder_dm.batch_size = 6  # 21 = 3 x 6 + 3: no single-sample batch to drop
    seen = []
    for loader in (folder_dm.train_dataloader(), folder_dm.val_dataloader()):
        for tokens, y, lengths in loader:
            assert tokens.shape == (len(y), int(lengths.max()))
            steps = torch.arange(tokens.shape[1])
            padded = steps[None, :] >= lengths[:, None]
            assert (tokens[padded] == 0).all() and (tokens[~padded] != 0).all()
            seen.append(len(y))
    assert sum(seen) == 21 + len(folder_dm.split_indices["val"])


def mixed_lengths(n: int = 200, longest: int = 60) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(0)
    lengths = torch.randint(1, longest + 1, (n,), generator=generator)
    tokens = (torch.arange(longest)[None, :] < lengths[:, None]).long() * 7
    return tokens, torch.arange(n), lengths


def padding(loader: PaddedSequenceLoader) -> int:
    return sum(int((t == 0).sum()) for t, _, _ in loader)


def test_bucketing_cuts_padding_and_serves_every_sample_once() -> None:
    tokens, y, lengths = mixed_lengths()
    plain = PaddedSequenceLoader(tokens, y, lengths, batch_size=8, shuffle=True)
    bucketed = PaddedSequenceLoader(tokens, y, lengths, batch_size=8, shuffle=True, bucket=True)
    assert padding(bucketed) < padding(plain) / 3
    orders = []
    for _ in range(2):
        batches = list(bucketed)
        assert len(batches) == len(bucketed) == 25
        order = torch.cat([b[1] for b in batches])
        assert sorted(order.tolist()) == list(range(200))  # each sample once an epoch
        for b_tokens, b_y, b_lengths in batches:  # rows still belong together
            assert torch.equal(b_lengths, lengths[b_y])
            assert torch.equal(b_tokens, tokens[b_y, : int(b_lengths.max())])
        orders.append(order)
    assert not torch.equal(*orders)  # a new order each epoch
    # seeded: another loader of the same seed draws the same epoch (1: padding() took 0)
    again = PaddedSequenceLoader(tokens, y, lengths, batch_size=8, shuffle=True, bucket=True)
    again.set_epoch(1)
    assert torch.equal(torch.cat([b[1] for b in again]), orders[0])


def test_bucketing_keeps_a_short_last_batch_last_and_shards_across_ranks() -> None:
    tokens, y, lengths = mixed_lengths(n=203)
    loader = PaddedSequenceLoader(tokens, y, lengths, batch_size=8, shuffle=True, bucket=True)
    sizes = [len(b[1]) for b in loader]
    assert sizes == [8] * 25 + [3]
    shards = [
        torch.cat(
            [
                b[1]
                for b in PaddedSequenceLoader(
                    tokens,
                    y,
                    lengths,
                    batch_size=8,
                    shuffle=True,
                    bucket=True,
                    rank=r,
                    world_size=2,
                )
            ]
        )
        for r in range(2)
    ]
    # disjoint halves; the one-sample-short rank repeats one of its own (the base's rule)
    assert set(shards[0].tolist()) | set(shards[1].tolist()) == set(range(203))
    assert not set(shards[0].tolist()) & set(shards[1].tolist())


def test_loader_takes_integer_tokens_or_series() -> None:
    tokens, y, lengths = mixed_lengths(n=4)
    ((batch, _, _),) = PaddedSequenceLoader(tokens, y, lengths, batch_size=4)
    assert batch.shape == (4, int(lengths.max()))
    series = PaddedSequenceLoader(tokens[..., None].float(), y, lengths, batch_size=4)
    assert next(iter(series))[0].shape == (4, int(lengths.max()), 1)
    with pytest.raises(ConfigError, match="integer token ids"):
        PaddedSequenceLoader(tokens.float(), y, lengths, batch_size=4)


def test_unshuffled_loaders_never_bucket(folder_dm: TextFolderDataModule) -> None:
    tokens, y, lengths = mixed_lengths()
    loader = PaddedSequenceLoader(tokens, y, lengths, batch_size=8, bucket=True)
    assert torch.cat([b[1] for b in loader]).tolist() == list(range(200))
    folder_dm.bucket = True
    assert folder_dm.train_dataloader().bucket and folder_dm.val_dataloader().bucket
    val = torch.cat([b[1] for b in folder_dm.val_dataloader()])
    assert torch.equal(val, folder_dm.tensors["val"][1])  # predictions line up with the split


# ---------------------------------------------------------------------- baseline, configs


def test_tfidf_baseline_on_separable_topics(folder_dm: TextFolderDataModule) -> None:
    assert folder_dm.extra_baselines() == {"test/baseline_acc": 1.0}
    # words that decide nothing: chance-level is all a baseline can reach
    texts = ["same words here"] * 20
    y = torch.arange(20) % 2
    assert tfidf_logreg_accuracy(texts[:10], y[:10].numpy(), texts[10:], y[10:].numpy()) == 0.5


@pytest.mark.parametrize("option", ["bbc_news", "text_folder", "text_csv"])
def test_configs_match_the_classes(option: str, tmp_path: Path) -> None:
    node = OmegaConf.load(CONF / f"{option}.yaml")
    params = inspect.signature(get_class(node._target_)).parameters
    assert set(node) - {"_target_"} == set(params)
    root = OmegaConf.create({"seed": 5, "data": node})
    if option == "text_folder":
        root.data.root = str(write_folder(tmp_path / "docs"))
    if option == "text_csv":
        root.data.path = str(write_csv(tmp_path / "docs.csv", csv_rows()))
    dm = instantiate(root.data)  # DictConfig / ListConfig values, as Hydra passes them
    assert dm.name == option and dm.seed == 5
    if option == "bbc_news":  # the steps it spells out are the defaults
        assert dm.preprocessor.state() == TextPreprocessor().state()
        assert dm.tokenizer.settings() == TextTokenizer().settings()
    else:
        assert ready(dm).num_classes == 3


def test_bbc_news() -> None:
    dm = ready(BBCNewsDataModule(encoding_fallback="cp1252"))
    assert dm.class_names == ["business", "entertainment", "politics", "sports", "tech"]
    sizes = {s: len(idx) for s, idx in dm.split_indices.items()}
    assert sum(sizes.values()) == 2225
    all_idx = torch.cat([torch.from_numpy(i) for i in dm.split_indices.values()])
    assert len(set(all_idx.tolist())) == 2225  # disjoint
    per_class = torch.tensor([510, 386, 417, 511, 401])
    for stage, fraction in (("train", 0.7), ("val", 0.15), ("test", 0.15)):
        counts = torch.bincount(dm.tensors[stage][1], minlength=5)
        assert (counts - per_class * fraction).abs().max() <= 1  # stratified
        assert abs(sizes[stage] - 2225 * fraction) <= 2
    assert dm.net_kwargs()["vocab_size"] <= 20000
    with pytest.raises(DataError, match=r"sports/199\.txt is not utf-8"):
        ready(BBCNewsDataModule())


def test_a_csv_in_another_encoding_reads_with_data_encoding(tmp_path: Path) -> None:
    from dlzoo.data.text.csv_files import TextCSVDataModule

    rows = [f"caf\u00e9 {c} story {i},{c}" for i in range(10) for c in "ab"]
    path = tmp_path / "latin.csv"
    path.write_bytes(("text,label\n" + "\n".join(rows) + "\n").encode("cp1252"))
    with pytest.raises(DataError, match=r"latin\.csv: it is not utf-8 text .*data\.encoding="):
        TextCSVDataModule(path=path, batch_size=4).setup()
    dm = TextCSVDataModule(path=path, batch_size=4, encoding="cp1252")
    dm.setup()
    assert dm.class_names == ["a", "b"] and "cafe" in dm.texts["train"][0]
