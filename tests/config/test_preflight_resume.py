"""``resume=true`` before Hydra starts: the run's own overrides with the command line's,
one per key, and a ``hydra.run.dir`` quoted as Lightning quotes it for a DDP run's other
ranks (which get every override of the first rank's command line again)."""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

from dlzoo.config.preflight import preflight


def _finished_run(log_dir: Path, overrides: list[str]) -> Path:
    run = log_dir / "digits_cnn" / "runs" / "2026-01-01_00-00-00_000000"
    (run / ".hydra").mkdir(parents=True)
    (run / "checkpoints").mkdir()
    (run / "checkpoints" / "last.ckpt").write_bytes(b"")
    OmegaConf.save(OmegaConf.create(overrides), run / ".hydra" / "overrides.yaml")
    return run


def test_a_plus_override_given_again_is_not_a_duplicate(tmp_path: Path) -> None:
    own = ["experiment=digits_cnn", "+callbacks.extra.min_delta=0.1", "seed=3"]
    run = _finished_run(tmp_path, own)
    again = [*own, "seed=4", "resume=true", f"paths.log_dir={tmp_path}"]
    got = preflight(again)
    assert got.count("+callbacks.extra.min_delta=0.1") == 1
    assert "seed=4" in got and "seed=3" not in got  # the command line wins
    assert got[-3:] == [
        "resume=true",
        f"hydra.run.dir={run}",
        f"ckpt_path={run}/checkpoints/last.ckpt",
    ]


def test_a_quoted_run_directory_is_the_same_directory(tmp_path: Path) -> None:
    run = _finished_run(tmp_path, ["experiment=digits_cnn"])
    for quoted in (f'"{run}"', f"'{run}'"):
        got = preflight(["resume=true", f"paths.log_dir={tmp_path}", f"hydra.run.dir={quoted}"])
        assert f"hydra.run.dir={run}" in got
