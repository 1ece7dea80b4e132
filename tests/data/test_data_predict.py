"""predict_inputs: raw files read and preprocessed exactly as the loaders' samples."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sktime
import torch
from PIL import Image

from dlzoo.data.base import PredictInputs
from dlzoo.data.image.folder import ImageFolderDataModule
from dlzoo.data.series.csv_files import CSVSeriesDataModule
from dlzoo.data.series.ucr import read_ucr
from dlzoo.errors import DataError


def both(built, key: str, path: Path) -> PredictInputs:
    """The set-up datamodule's inputs, checked equal to those of one with the state alone."""
    first = built.ready(key).predict_inputs(path)
    fresh = built.fresh(key)
    fresh.load_fitted_state(copy.deepcopy(built.ready(key).fitted_state()))
    second = fresh.predict_inputs(path)
    assert second.names == first.names and len(second) == len(first)
    for a, b in zip(first.inputs, second.inputs, strict=True):
        assert torch.equal(a, b)
    return first


def assert_refused(dm, cases: dict[Path, str]) -> None:
    """Each file is one DataError line that names the file and matches its pattern."""
    for path, match in cases.items():
        with pytest.raises(DataError, match=match) as info:
            dm.predict_inputs(path)
        assert str(path) in str(info.value) and "\n" not in str(info.value)


def write_png(path: Path, pixels: np.ndarray) -> Path:
    """(H, W) or (H, W, 3) values 0 .. 255 as an 8-bit PNG."""
    Image.fromarray(np.asarray(pixels, dtype=np.uint8)).save(path)
    return path


# ---------------------------------------------------------------------- images


def test_digit_pngs_give_the_test_tensors(built, tmp_path: Path) -> None:
    from sklearn.datasets import load_digits

    dm = built.ready("digits")
    idx = dm.split_indices["test"][:12]
    # a PNG holds round(v * 255 / 16) of a digit's v = 0 .. 16: off by 0.5 / 255 at most
    for i, digit in enumerate(load_digits().images[idx]):
        write_png(tmp_path / f"{i:02d}.png", np.round(digit * 255 / 16))
    (tmp_path / "notes.txt").write_text("not an image")
    got = both(built, "digits", tmp_path)
    assert got.names == [f"{i:02d}.png" for i in range(12)]
    (x,) = got.inputs
    assert x.shape == (12, 1, 8, 8) and x.dtype == torch.float32
    tolerance = 0.5 / 255 / float(dm.std[0]) + 1e-6
    torch.testing.assert_close(x, dm.tensors["test"][0][:12], atol=tolerance, rtol=0)
    one = dm.predict_inputs(tmp_path / "03.png")
    assert one.names == ["03.png"] and torch.equal(one.inputs[0], x[3:4])


def test_mnist_pngs_give_the_test_tensors_exactly(built, tmp_path: Path) -> None:
    dm = built.ready("mnist")
    x_test = dm.tensors["test"][0][:8]
    pixels = torch.round(dm.denormalize(x_test) * 255)[:, 0].numpy()  # the file's 0 .. 255
    for i, image in enumerate(pixels):
        write_png(tmp_path / f"{i}.png", image)
    (x,) = both(built, "mnist", tmp_path).inputs
    torch.testing.assert_close(x, x_test)


def test_image_folder_reads_like_its_training_images(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for name in ("ant", "bee"):
        (tmp_path / "train" / name).mkdir(parents=True)
        for i in range(7):
            write_png(tmp_path / "train" / name / f"{i}.png", rng.integers(0, 256, (10, 12, 3)))
    dm = ImageFolderDataModule(tmp_path / "train", image_size=[6, 5], batch_size=4)
    dm.setup()
    # the "ant" files are samples 0 .. 6 of the dataset: find them in the splits
    got = dm.predict_inputs(tmp_path / "train" / "ant")
    assert got.inputs[0].shape == (7, 3, 6, 5)
    found = 0
    for stage, idx in dm.split_indices.items():
        for row, sample in enumerate(idx):
            if sample < 7:
                assert torch.equal(got.inputs[0][sample], dm.tensors[stage][0][row])
                found += 1
    assert found == 7
    # a grey file of another size becomes RGB of the training size
    grey = write_png(tmp_path / "grey.png", rng.integers(0, 256, (20, 30)))
    assert dm.predict_inputs(grey).inputs[0].shape == (1, 3, 6, 5)


def test_bad_image_inputs_are_one_data_error(built, tmp_path: Path) -> None:
    dm = built.ready("digits")
    (tmp_path / "empty").mkdir()
    (tmp_path / "table.csv").write_text("a,b\n1,2\n")
    (tmp_path / "broken.png").write_bytes(b"not a png")
    cases = {
        tmp_path / "nowhere.png": "does not exist",
        tmp_path / "empty": "has no image files",
        tmp_path / "table.csv": "is not an image file",
        tmp_path / "broken.png": "cannot read image",
    }
    assert_refused(dm, cases)


# ---------------------------------------------------------------------- series


def test_a_csv_tail_gives_the_window_the_loader_serves(built, tmp_path: Path) -> None:
    from statsmodels.datasets import sunspots

    dm = built.ready("sunspots")
    frame = sunspots.load_pandas().data.rename(columns={"YEAR": "year"})
    frame["year"] = frame["year"].astype(int)
    start, _ = dm.split_bounds["test"]
    k = 5  # test window k: rows start + k .. start + k + 10
    frame.iloc[: start + k + 11].to_csv(tmp_path / "tail.csv", index=False)
    got = both(built, "sunspots", tmp_path / "tail.csv")
    (x,) = got.inputs
    assert x.shape == (1, 11, 1)
    torch.testing.assert_close(x[0], dm.tensors["test"][0][k])
    assert got.names == [str(frame["year"].iloc[start + k + 10])]
    frame[["SUNACTIVITY"]].iloc[:40].to_csv(tmp_path / "no_time.csv", index=False)
    assert dm.predict_inputs(tmp_path / "no_time.csv").names == ["no_time.csv row 40"]


def test_csv_columns_are_found_by_name_targets_first(tmp_path: Path) -> None:
    rows = 60
    frame = pd.DataFrame({
        "date": pd.date_range("2021-01-01", periods=rows, freq="D").strftime("%Y-%m-%d"),
        "load": np.arange(rows, dtype=float) ** 1.5,
        "temp": np.sin(np.arange(rows)),
    })  # fmt: skip
    frame.to_csv(tmp_path / "train.csv", index=False)
    dm = CSVSeriesDataModule(tmp_path / "train.csv", ["load", "temp"], window=4,
                             time_column="date", target_columns=["temp"])  # fmt: skip
    dm.setup()
    assert dm.columns == ["temp", "load"]
    # the training's first 4 + 3 rows, columns shuffled and one more: window 3 of train
    tail = frame.iloc[:7][["load", "date", "temp"]].assign(other=1.0)
    tail.to_csv(tmp_path / "tail.csv", index=False)
    got = dm.predict_inputs(tmp_path / "tail.csv")
    torch.testing.assert_close(got.inputs[0][0], dm.tensors["train"][0][3])
    assert got.names == ["2021-01-07"]


def test_bad_series_inputs_are_one_data_error(built, tmp_path: Path) -> None:
    dm = built.ready("sunspots")
    values = np.arange(20.0)
    pd.DataFrame({"SUNACTIVITY": values}).to_csv(tmp_path / "good.csv", index=False)
    pd.DataFrame({"spots": values}).to_csv(tmp_path / "renamed.csv", index=False)
    pd.DataFrame({"SUNACTIVITY": values[:5]}).to_csv(tmp_path / "short.csv", index=False)
    text = (tmp_path / "good.csv").read_text().replace("\n15.0\n", "\nmany\n")
    (tmp_path / "text.csv").write_text(text)
    # a blank line is an empty cell of a one-column file: a gap, not a skipped row
    gap = (tmp_path / "good.csv").read_text().replace("\n15.0\n", "\n\n") + "\n\n"
    (tmp_path / "gap.csv").write_text(gap)
    write_png(tmp_path / "image.png", np.zeros((8, 8)))
    cases = {
        tmp_path / "nowhere.csv": "does not exist",
        tmp_path / "renamed.csv": "no column 'SUNACTIVITY'; its columns are spots: it needs",
        tmp_path / "short.csv": "5 data rows, fewer than the window of 11",
        tmp_path / "text.csv": "non-numeric value",
        tmp_path / "gap.csv": "missing values in its last 11 rows",
        tmp_path / "image.png": "cannot read CSV file",
    }
    assert_refused(dm, cases)
    # blank lines after the last row are not rows
    (tmp_path / "trailing.csv").write_text((tmp_path / "good.csv").read_text() + "\n\n")
    got = dm.predict_inputs(tmp_path / "trailing.csv")
    assert got.names == ["trailing.csv row 20"]
    assert torch.equal(got.inputs[0], dm.predict_inputs(tmp_path / "good.csv").inputs[0])


# ---------------------------------------------------------------------- UCR


def test_a_npy_of_cases_gives_the_test_tensors(built, tmp_path: Path) -> None:
    dm = built.ready("GunPoint")
    test = read_ucr("GunPoint", "test")
    np.save(tmp_path / "cases.npy", test.x[:6].transpose(0, 2, 1))  # (N, C, T)
    got = both(built, "GunPoint", tmp_path / "cases.npy")
    x, lengths = got.inputs
    assert got.names == [f"cases.npy[{i}]" for i in range(6)]
    torch.testing.assert_close(x, dm.tensors["test"][0][:6])
    assert torch.equal(lengths, dm.tensors["test"][2][:6])
    np.save(tmp_path / "one.npy", test.x[2].T)  # (C, T)
    torch.testing.assert_close(dm.predict_inputs(tmp_path / "one.npy").inputs[0][0], x[2])


def test_unequal_lengths_pad_with_nan_in_a_npy(built, tmp_path: Path) -> None:
    dm = built.ready("JapaneseVowels")
    test = read_ucr("JapaneseVowels", "test")
    idx = np.argsort(test.lengths)[[0, -1, 100]]  # the shortest, the longest, one more
    cases = test.x[idx].copy()
    for row, i in enumerate(idx):
        cases[row, test.lengths[i] :] = np.nan  # padding, as the archive files write it
    np.save(tmp_path / "vowels.npy", cases.transpose(0, 2, 1))
    x, lengths = both(built, "JapaneseVowels", tmp_path / "vowels.npy").inputs
    assert lengths.tolist() == test.lengths[idx].tolist()
    expected = dm.tensors["test"][0][idx, : int(lengths.max())]
    torch.testing.assert_close(x, expected)


def test_a_ts_file_gives_the_whole_test_part(built) -> None:
    path = Path(sktime.__file__).parent / "datasets" / "data" / "GunPoint" / "GunPoint_TEST.ts"
    x, lengths = built.ready("GunPoint").predict_inputs(path).inputs
    torch.testing.assert_close(x, built.ready("GunPoint").tensors["test"][0])
    assert torch.equal(lengths, built.ready("GunPoint").tensors["test"][2])


def test_bad_sequence_inputs_are_one_data_error(built, tmp_path: Path) -> None:
    dm = built.ready("GunPoint")  # one channel
    np.save(tmp_path / "channels.npy", np.zeros((2, 3, 10)))
    np.save(tmp_path / "four.npy", np.zeros((1, 2, 1, 10)))
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.save(tmp_path / "words.npy", np.array([["a", "b"]]))
    inside = np.ones((1, 1, 10))
    inside[0, 0, 4] = np.nan
    np.save(tmp_path / "inside.npy", inside)
    (tmp_path / "cases.csv").write_text("1,2,3\n")
    (tmp_path / "bad.ts").write_text("hello\n1,2,3\n")
    cases = {
        tmp_path / "nowhere.npy": "does not exist",
        tmp_path / "channels.npy": r"shape \(2, 3, 10\): expected .* C = 1 channels",
        tmp_path / "four.npy": r"shape \(1, 2, 1, 10\)",
        tmp_path / "objects.npy": "cannot read",
        tmp_path / "words.npy": "<U1 values",
        tmp_path / "inside.npy": "case 0 has missing or infinite values",
        tmp_path / "cases.csv": "is not a .npy or .ts file",
        tmp_path / "bad.ts": "cannot read .* as a .ts file",
    }
    assert_refused(dm, cases)


# ---------------------------------------------------------------------- in memory


def test_arrays_in_the_datas_own_units_give_the_loaders_tensors(built) -> None:
    """predict_values: what a notebook passes to Result.predict, in the data's units."""
    from sklearn.datasets import load_digits
    from statsmodels.datasets import sunspots

    digits = built.ready("digits")
    idx = digits.split_indices["test"][:12]
    raw = load_digits().images[idx]  # (12, 8, 8), 0 .. 16: no rounding through a file
    (x,) = digits.predict_values(raw).inputs
    assert torch.equal(x, digits.tensors["test"][0][:12])
    assert torch.equal(digits.predict_values(torch.tensor(raw[:, None])).inputs[0], x)
    series = built.ready("sunspots")
    start, _ = series.split_bounds["test"]
    values = sunspots.load_pandas().data["SUNACTIVITY"].to_numpy()[: start + 5 + 11]
    (window,) = series.predict_values(values).inputs  # (T,): one column
    torch.testing.assert_close(window[0], series.tensors["test"][0][5])
    cases = read_ucr("GunPoint", "test").x[:6].transpose(0, 2, 1)  # (N, C, T)
    gunpoint = built.ready("GunPoint")
    x, lengths = gunpoint.predict_values(cases).inputs
    torch.testing.assert_close(x, gunpoint.tensors["test"][0][:6])
    assert torch.equal(lengths, gunpoint.tensors["test"][2][:6])


@pytest.mark.parametrize(
    ("key", "values", "match"),
    [
        ("digits", np.zeros((2, 8, 9)), r"shape \(2, 1, 8, 9\): give images of shape \(N, 8, 8\)"),
        ("digits", ["a"], "cannot read a list as numbers"),
        ("sunspots", np.zeros(5), "has 5 data rows, fewer than the window of 11"),
        ("sunspots", np.zeros((20, 2)), r"shape \(20, 2\): give the last 11 or more values"),
        ("GunPoint", np.zeros((2, 3, 10)), r"shape \(2, 3, 10\): expected numbers"),
    ],
)
def test_bad_arrays_are_one_data_error(built, key: str, values, match: str) -> None:
    with pytest.raises(DataError, match=match) as info:
        built.ready(key).predict_values(values)
    assert "\n" not in str(info.value)
