"""The pieces of a sweep without a sweep: threads per trial, run names, class names in
the HPARAMS tab, trial status and the summary table."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from dlzoo.config.trial_names import run_name
from dlzoo.errors import ConfigError
from dlzoo.run.runs_table import collect, swept_keys
from dlzoo.run.threads import apply_threads, cpu_count
from dlzoo.sweeps.summary import summary_table


@pytest.fixture
def joblib_multirun(monkeypatch):
    """HydraConfig as a joblib multirun's trial sees it (2 workers, 2 trials a batch)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)  # restored afterwards

    hydra = {
        "mode": RunMode.MULTIRUN,
        "launcher": {"_target_": "hydra_plugins.hydra_joblib_launcher.x.JoblibLauncher"},
        "sweeper": {"n_jobs": 2},
    }
    hydra["launcher"]["n_jobs"] = -1  # joblib's "every core"; the batch of 2 bounds it
    before, instance = torch.get_num_threads(), HydraConfig.instance()
    instance.cfg = OmegaConf.create({"hydra": hydra})
    yield
    instance.cfg = None
    torch.set_num_threads(before)


def test_a_joblib_trial_gets_its_share_of_the_cores(joblib_multirun) -> None:
    assert apply_threads(OmegaConf.create({"threads": None})) == max(1, cpu_count() // 2)
    assert apply_threads(OmegaConf.create({"threads": 1})) == 1  # set explicitly: as given
    assert os.environ["OMP_NUM_THREADS"] == "1"  # so Lightning's DDP launcher keeps it
    with pytest.raises(ConfigError, match="threads=0: give a positive number"):
        apply_threads(OmegaConf.create({"threads": 0}))


def test_a_single_run_keeps_torch_default_threads() -> None:
    before = torch.get_num_threads()
    assert apply_threads(OmegaConf.create({"threads": None})) == before


def test_run_names_show_the_overrides_but_not_the_bookkeeping() -> None:
    overrides = [
        *("experiment=digits_cnn", "paths.log_dir=/tmp/x", "optimizer.lr=0.0030271829277346246"),
        *("model.dropout=0.2", "+callbacks.optuna_pruning={trial_id:3}", "data.root=/a/b"),
    ]
    assert run_name(3, overrides) == "3_data.root=_a_b,model.dropout=0.2,optimizer.lr=0.003027"
    assert run_name(0, ["experiment=digits_cnn"]) == "0"
    assert len(run_name(12, [f"model.k{i}=123456" for i in range(40)])) == 120


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["data.root=C:/x"], "1_data.root=C__x"),  # a Windows path as a swept value
        (["+model.a:b=1"], "1_+model.a_b=1"),  # a key with a colon
        (["model.note='<a>|\"b\"?*\\'"], "1_model.note=__a___b_____"),
        (["model.act={name:relu}"], "1_model.act={name_relu}"),
        # cut at the 120th character, just after a dot: Windows would drop the dot
        ([f"model.tag={'x' * 107}.yz"], f"1_model.tag={'x' * 107}"),
    ],
)
def test_trial_names_are_file_names_on_windows_too(overrides: list[str], expected: str) -> None:
    name = run_name(1, overrides)
    assert name == expected
    assert not set(name) & set('<>:"/\\|?*') and not name.endswith((".", " "))


def test_flat_hparams_keeps_the_class_names() -> None:
    from dlzoo.config.compose import compose_config
    from dlzoo.run.report import flat_hparams

    hparams = flat_hparams(compose_config(["experiment=digits_cnn"], "/tmp/unused"))
    assert hparams["model/class"] == "CNN" and hparams["optimizer/class"] == "Adam"
    assert hparams["scheduler/class"] == "CosineAnnealingLR"
    assert not any(k.endswith("/_target_") for k in hparams)


def _trial(root: Path, name: str, overrides: list[str], **files: dict) -> None:
    (root / name / ".hydra").mkdir(parents=True)
    lines = "".join(f"- {o}\n" for o in overrides)
    (root / name / ".hydra" / "overrides.yaml").write_text(lines)
    (root / name / ".hydra" / "config.yaml").write_text("task_name: digits_cnn\n")
    for file, payload in files.items():
        (root / name / f"{file}.json").write_text(json.dumps(payload))


def test_statuses_and_the_summary_table(tmp_path: Path) -> None:
    ok = {"optimized_metric": "val/acc", "optimized_value": 0.9, "test": {"test/acc": 0.8}}
    _trial(
        tmp_path, "10_lr=3", ["lr=3", "paths.log_dir=/x"], metrics={**ok, "optimized_value": 0.95}
    )
    _trial(tmp_path, "2_lr=1", ["lr=1"], metrics=ok)
    _trial(
        tmp_path, "3_lr=2", ["lr=2"], metrics={**ok, "status": "pruned", "optimized_value": 0.99}
    )
    failed = {"status": "failed", "error": "ValueError: bad", "optimized_value": float("-inf")}
    _trial(tmp_path, "4_lr=9", ["lr=9"], error=failed)
    _trial(tmp_path, "5_lr=4", ["lr=4"])  # still running
    rows = {r.run: r for r in collect(tmp_path)}
    assert {k: r.status for k, r in rows.items()} == {
        **{"10_lr=3": "ok", "2_lr=1": "ok", "3_lr=2": "pruned"},
        **{"4_lr=9": "failed", "5_lr=4": "unfinished"},
    }
    assert rows["4_lr=9"].cells()["error"] == "ValueError: bad"
    assert swept_keys(list(rows.values())) == ["lr"]
    columns, table = summary_table(list(rows.values()), "val/acc", "max")
    assert columns == ["trial", "lr", "val/acc", "status", "error", "best", "run"]
    assert [r["trial"] for r in table] == ["2", "3", "4", "5", "10"]  # job order
    # the pruned trial stopped early and does not count: the best is trial 10
    assert [r["best"] for r in table] == ["", "", "", "", "*"]
    assert table[2]["val/acc"] == "-inf" and table[3]["val/acc"] == ""
