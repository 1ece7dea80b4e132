"""The data cache sits under ``Path.home()`` (on Windows too, where ``HOME`` is unset)."""

from __future__ import annotations

from pathlib import Path

from dlzoo.config.compose import compose_config


def test_the_data_cache_is_under_the_home_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("DLZOO_DATA_DIR", raising=False)
    monkeypatch.delenv("HOME", raising=False)
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: tmp_path / "me"))
    cfg = compose_config(["experiment=digits_cnn"], run_dir=tmp_path / "run")
    assert Path(cfg.paths.data_dir) == tmp_path / "me" / ".cache" / "dlzoo"
    monkeypatch.setenv("DLZOO_DATA_DIR", str(tmp_path / "data"))
    cfg = compose_config(["experiment=digits_cnn"], run_dir=tmp_path / "run")
    assert Path(cfg.paths.data_dir) == tmp_path / "data"
