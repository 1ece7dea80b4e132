"""Video clips: the moving digits (shapes, seeds, the direction label against the motion,
bounces, the cache) and a user's clip folder (bad input), both datamodules' contract
(5-D batches, the per-channel scaler, fitted state, predict_inputs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from dlzoo.data.image.packaged import MNISTDataModule
from dlzoo.data.video.folder import VideoFolderDataModule
from dlzoo.data.video.moving_digits import (
    CLEAR_STEPS,
    DIRECTION_NAMES,
    MovingDigitsDataModule,
    generate_moving_digits,
    shrink_digits,
    trajectories,
    velocities,
)
from dlzoo.errors import ConfigError, DataError

CANVAS, DIGIT, FRAMES, SPEED = 20, 8, 8, 2.0


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    """Random "digits" (no MNIST read): (40, 8, 8) uint8, no blank pixel, so that a
    digit cut at an edge would lose mass."""
    return np.random.default_rng(1).integers(50, 256, size=(40, DIGIT, DIGIT)).astype(np.uint8)


def make(digits: np.ndarray, seed: int = 0, n: int = 40) -> dict[str, np.ndarray]:
    return generate_moving_digits(digits, n, CANVAS, FRAMES, SPEED, seed)


def centre_of_mass(frames: np.ndarray) -> np.ndarray:
    """(T, H, W) -> (T, 2) (row, column) of each frame's intensity-weighted centre."""
    rows, cols = np.indices(frames.shape[1:])
    mass = frames.sum(axis=(1, 2)).astype(np.float64)
    return np.stack([(frames * rows).sum((1, 2)) / mass, (frames * cols).sum((1, 2)) / mass], 1)


# ---------------------------------------------------------------------- the construction


def test_clips_have_the_shape_and_a_digit_each(digits: np.ndarray) -> None:
    out = make(digits)
    assert out["clips"].shape == (40, FRAMES, CANVAS, CANVAS) and out["clips"].dtype == np.uint8
    assert out["corners"].shape == (40, FRAMES, 2)
    assert sorted(out["sources"]) == list(range(40))  # each clip its own digit
    assert np.bincount(out["directions"]).tolist() == [5] * 8  # balanced directions


def test_generation_is_seeded(digits: np.ndarray) -> None:
    a, b, c = make(digits, 3), make(digits, 3), make(digits, 4)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(a["clips"], c["clips"])


def test_direction_label_matches_the_motion_before_the_first_bounce(digits: np.ndarray) -> None:
    out = make(digits)
    angles = np.arange(8) * np.pi / 4
    units = np.stack([-np.sin(angles), np.cos(angles)], 1)  # (row, col): up is -row
    for clip, label in zip(out["clips"], out["directions"], strict=True):
        com = centre_of_mass(clip.astype(np.float64))
        # the first CLEAR_STEPS steps never touch an edge: straight along the label
        step = com[CLEAR_STEPS] - com[0]
        assert np.linalg.norm(step) == pytest.approx(CLEAR_STEPS * SPEED, abs=1.5)
        assert int(np.argmax(units @ step)) == label, DIRECTION_NAMES[label]


def test_the_centre_of_mass_moves_with_the_corners(digits: np.ndarray) -> None:
    out = make(digits)
    for clip, corners in zip(out["clips"], out["corners"], strict=True):
        com = centre_of_mass(clip.astype(np.float64))
        np.testing.assert_allclose(com - com[0], corners - corners[0], atol=1e-9)


def test_bouncing_keeps_the_whole_digit_inside(digits: np.ndarray) -> None:
    out = make(digits)
    limit = CANVAS - DIGIT
    assert out["corners"].min() >= 0 and out["corners"].max() <= limit
    mass = digits[out["sources"]].sum(axis=(1, 2), dtype=np.int64)  # (N,)
    # every frame holds the digit's full mass: nothing is clipped at an edge
    np.testing.assert_array_equal(
        out["clips"].sum(axis=(2, 3), dtype=np.int64), np.broadcast_to(mass[:, None], (40, FRAMES))
    )
    steps = np.diff(out["corners"], axis=1)  # (N, T-1, 2)
    flips = (steps[:, :-1] * steps[:, 1:] < 0).any(axis=(1, 2))
    assert flips.sum() >= 5  # the clips do bounce


def test_trajectory_reflects_at_the_edges_by_hand() -> None:
    start, velocity = np.array([[1.0, 4.0]]), np.array([[-2.0, 0.0]])
    path = trajectories(start, velocity, 8, limit=10.0)[0]
    # 1 - 2 = -1 mirrors to 1 (velocity now +2), ..., 9 + 2 = 11 mirrors to 9
    assert path[:, 0].tolist() == [1, 1, 3, 5, 7, 9, 9, 7]
    assert path[:, 1].tolist() == [4.0] * 8


def test_velocities_point_counter_clockwise_from_right() -> None:
    v = velocities(np.arange(8), 2.0)
    np.testing.assert_allclose(v[[0, 2, 4, 6]], [[0, 2], [-2, 0], [0, -2], [2, 0]])
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 2.0)


def test_shrink_digits_averages_areas() -> None:
    images = np.zeros((1, 1, 28, 28), dtype=np.float32)
    images[0, 0, :2, :2] = 1.0  # one 2x2 block -> one pixel of a 14x14 digit
    small = shrink_digits(images, 14)
    assert small.shape == (1, 14, 14) and small[0, 0, 0] == 255 and small.sum() == 255


# ---------------------------------------------------------------------- the datamodule


def moving(tmp_path: Path, **kwargs) -> MovingDigitsDataModule:
    options = dict(num_clips=160, canvas_size=24, digit_size=10, frames=5, speed=1.5)
    return MovingDigitsDataModule(tmp_path, batch_size=16, **{**options, **kwargs})


@pytest.fixture(scope="module")
def dm(tmp_path_factory: pytest.TempPathFactory) -> MovingDigitsDataModule:
    module = moving(tmp_path_factory.mktemp("moving"))
    module.prepare_data()
    module.setup("fit")
    return module


def test_batches_are_5d_and_net_kwargs_describe_them(dm: MovingDigitsDataModule) -> None:
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (16, 5, 1, 24, 24) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert dm.net_kwargs() == {
        "in_channels": 1,
        "image_size": (24, 24),
        "in_features": 576,
        "frames": 5,
        "num_classes": 8,
    }
    assert dm.class_names == list(DIRECTION_NAMES)
    sizes = {stage: len(idx) for stage, idx in dm.split_indices.items()}
    assert sizes == {"train": 112, "val": 24, "test": 24}


def test_the_scaler_is_fitted_on_the_training_clips(dm: MovingDigitsDataModule) -> None:
    train = dm.tensors["train"][0]
    assert float(train.mean()) == pytest.approx(0.0, abs=1e-5)
    assert float(train.std()) == pytest.approx(1.0, abs=1e-3)
    raw = dm.denormalize(dm.tensors["val"][0])
    assert float(raw.min()) >= -1e-6 and float(raw.max()) <= 1 + 1e-6


def test_the_cache_is_reused_and_keyed_by_every_parameter(tmp_path: Path, monkeypatch) -> None:
    first = moving(tmp_path)
    first.setup()
    assert first.cache_path.is_file()

    def fail(self):
        raise AssertionError("generated again instead of reading the cache")

    monkeypatch.setattr(MovingDigitsDataModule, "_generate", fail)
    again = moving(tmp_path)
    again.setup()
    torch.testing.assert_close(again.tensors["test"][0], first.tensors["test"][0])
    assert moving(tmp_path, label="digit").cache_path == first.cache_path  # same clips
    changes = [
        {"num_clips": 80}, {"canvas_size": 26}, {"digit_size": 9}, {"frames": 6},
        {"speed": 1.25}, {"generation_seed": 1},
    ]  # fmt: skip
    paths = {moving(tmp_path, **change).cache_path for change in changes}
    assert first.cache_path not in paths and len(paths) == len(changes)


def test_digit_labels_are_the_mnist_digits(tmp_path: Path) -> None:
    module = moving(tmp_path, label="digit")
    module.setup()
    assert module.class_names == [str(d) for d in range(10)] and module.num_classes == 10
    cached = np.load(module.cache_path)
    mnist = MNISTDataModule().load()
    np.testing.assert_array_equal(cached["digits"], mnist.labels[cached["sources"]])
    # each clip shows its own MNIST digit, shrunk, at its corner
    shrunk = shrink_digits(mnist.images[cached["sources"][:5]], 10)
    for clip, (row, col), digit in zip(
        cached["clips"][:5], cached["corners"][:5, 0], shrunk, strict=True
    ):
        np.testing.assert_array_equal(clip[0, row : row + 10, col : col + 10], digit)
    for stage, idx in module.split_indices.items():
        np.testing.assert_array_equal(module.tensors[stage][1].numpy(), cached["digits"][idx])


def test_a_fold_splits_the_clips(tmp_path: Path) -> None:
    module = moving(tmp_path)
    module.use_fold(1, 4)
    module.setup()
    assert len(module.split_indices["test"]) == 40
    every = np.concatenate(list(module.split_indices.values()))
    assert sorted(every) == list(range(160))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"label": "colour"}, "data.label='colour'"),
        ({"num_clips": 6000}, "at most 5000"),
        ({"digit_size": 24}, "no room to move"),
        ({"speed": 8.0}, "data.speed=8.0"),
        ({"frames": 0}, "data.frames=0"),
    ],
)
def test_bad_options_are_config_errors(tmp_path: Path, kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        moving(tmp_path, **kwargs)


# ---------------------------------------------------------------------- fitted state, predict


def test_fitted_state_rebuilds_without_data(dm: MovingDigitsDataModule, tmp_path: Path) -> None:
    fresh = moving(tmp_path / "elsewhere")
    fresh.load_fitted_state(dm.fitted_state())
    assert fresh.net_kwargs() == dm.net_kwargs() and fresh.class_names == dm.class_names
    assert not (tmp_path / "elsewhere").exists()  # nothing generated
    with pytest.raises(DataError, match=r"frames=5 but data\.frames=6"):
        moving(tmp_path, frames=6).load_fitted_state(dm.fitted_state())
    with pytest.raises(DataError, match=r"data\.label=digit"):
        moving(tmp_path, label="digit").load_fitted_state(dm.fitted_state())


def test_predict_inputs_reads_clips_as_in_training(
    dm: MovingDigitsDataModule, tmp_path: Path
) -> None:
    raw = dm.denormalize(dm.tensors["test"][0][:3])  # (3, 5, 1, 24, 24) in [0, 1]
    pixels = np.rint(raw.numpy() * 255).astype(np.uint8)
    folder = tmp_path / "new"
    folder.mkdir()
    np.save(folder / "a.npy", pixels[0, :, 0])  # (T, H, W) uint8
    np.save(folder / "b.npy", pixels[1])  # (T, C, H, W)
    np.save(folder / "c.npy", pixels[1:3, :, 0])  # a stack (N, T, H, W)
    out = dm.predict_inputs(folder)
    assert out.names == ["a.npy", "b.npy", "c.npy[0]", "c.npy[1]"]
    x = out.inputs[0]
    assert x.shape == (4, 5, 1, 24, 24)
    expected = dm.tensors["test"][0][[0, 1, 1, 2]]
    torch.testing.assert_close(x, expected, atol=1e-5, rtol=0)
    # the exported transform does what predict_inputs does
    transform = dm.input_transform()
    torch.testing.assert_close(
        transform(torch.from_numpy(pixels / 255.0).float()), expected[[0, 1, 3]]
    )
    assert len(dm.predict_inputs(folder / "c.npy")) == 2


def test_predict_inputs_names_a_clip_of_another_shape(
    dm: MovingDigitsDataModule, tmp_path: Path
) -> None:
    np.save(tmp_path / "short.npy", np.zeros((4, 24, 24), dtype=np.uint8))
    with pytest.raises(DataError, match=r"short.npy has shape \(4, 24, 24\).*\(5, 1, 24, 24\)"):
        dm.predict_inputs(tmp_path / "short.npy")
    (tmp_path / "x.txt").write_text("1")
    with pytest.raises(DataError, match=r"not a \.npy file"):
        dm.predict_inputs(tmp_path / "x.txt")


# ---------------------------------------------------------------------- a user's clip folder


def write_folder(root: Path, shape: tuple[int, ...] = (4, 6, 6), per_class: int = 8) -> None:
    rng = np.random.default_rng(0)
    for label in ("left", "right"):
        (root / label).mkdir(parents=True)
        for i in range(per_class):
            np.save(root / label / f"{i}.npy", rng.integers(0, 256, shape).astype(np.uint8))


def test_video_folder_reads_one_clip_per_file(tmp_path: Path) -> None:
    write_folder(tmp_path, (4, 3, 6, 6))
    module = VideoFolderDataModule(tmp_path, batch_size=4, val_fraction=0.25, test_fraction=0.25)
    module.setup()
    assert module.class_names == ["left", "right"]
    assert module.net_kwargs() == {
        "in_channels": 3, "image_size": (6, 6), "in_features": 108, "frames": 4, "num_classes": 2,
    }  # fmt: skip
    x, _ = next(iter(module.val_dataloader()))
    assert x.shape == (4, 4, 3, 6, 6)
    # per-channel statistics: 3 channels, each standardised on the training clips
    train = module.tensors["train"][0]
    assert len(module.mean) == 3
    torch.testing.assert_close(train.mean(dim=(0, 1, 3, 4)), torch.zeros(3), atol=1e-5, rtol=0)
    first = np.load(tmp_path / "left" / "0.npy").astype(np.float32) / 255
    # clip 0 (left/0.npy) is in one split; the scaler's inverse gives its pixels back
    stage = next(s for s, idx in module.split_indices.items() if 0 in idx)
    where = int(np.flatnonzero(module.split_indices[stage] == 0)[0])
    raw = module.denormalize(module.tensors[stage][0][where : where + 1])[0]
    np.testing.assert_allclose(raw.numpy(), first, atol=1e-5)


def bad_folder(tmp_path: Path, case: str) -> Path:
    write_folder(tmp_path)
    if case == "mixed shapes":
        np.save(tmp_path / "right" / "9.npy", np.zeros((5, 6, 6), dtype=np.uint8))
    elif case == "wrong ndim":
        np.save(tmp_path / "right" / "9.npy", np.zeros((6, 6), dtype=np.uint8))
    elif case == "empty class":
        (tmp_path / "up").mkdir()
    elif case == "unreadable":
        (tmp_path / "right" / "9.npy").write_bytes(b"not numpy")
    elif case == "objects":
        np.save(tmp_path / "right" / "9.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    return tmp_path


@pytest.mark.parametrize(
    ("case", "match"),
    [
        (
            "mixed shapes",
            r"right/9.npy has shape \(5, 1, 6, 6\) but .*left/0.npy has \(4, 1, 6, 6\)",
        ),
        ("wrong ndim", r"right/9.npy has shape \(6, 6\), expected one clip"),
        ("empty class", r"class folder .*up has no .npy clip files"),
        ("unreadable", r"cannot read clip file .*right/9.npy"),
        ("objects", r"cannot read clip file .*right/9.npy"),
    ],
)
def test_video_folder_bad_input_is_one_line(tmp_path: Path, case: str, match: str) -> None:
    module = VideoFolderDataModule(bad_folder(tmp_path, case))
    with pytest.raises(DataError, match=match) as info:
        module.setup()
    assert "\n" not in str(info.value)


def test_video_folder_missing_root(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"does not exist: set data\.root"):
        VideoFolderDataModule(tmp_path / "nowhere").setup()
