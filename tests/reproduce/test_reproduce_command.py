"""``dlzoo-reproduce`` end to end: three short protocols (one judged against another)
in a real process, its table read back against the runs' own ``metrics.json``; bad
input is one ``error:`` line, exit 2, and no table."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dlzoo.reproduce.protocols import load_protocols
from dlzoo.reproduce.runner import outcome_of
from dlzoo.reproduce.table import verdict

COMMAND = [sys.executable, "-m", "dlzoo.cli.reproduce"]
PROTOCOLS = """\
protocols:
  - {name: gunpoint, title: GunPoint FCN, experiment: gunpoint_fcn, seeds: 2,
     published: 1.0, source: Fawaz 2019, budget: [trainer.max_epochs=4]}
  - {name: lin, title: Sunspots linear, experiment: sunspots_linear, seeds: 2,
     metric: test/mase, mode: min, baselines: [test/naive_mase],
     budget: [trainer.max_epochs=3]}
  - {name: gru, title: Sunspots GRU, experiment: sunspots_gru, seeds: 2,
     metric: test/mase, mode: min, baselines: [test/naive_mase], against: [lin],
     budget: [trainer.max_epochs=3]}
"""


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "DLZOO_LOG_DIR": str(cwd / "logs")}
    return subprocess.run(
        [*COMMAND, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )


@pytest.mark.slow
@pytest.mark.ci
def test_three_budget_protocols_give_their_table(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(PROTOCOLS)
    args = ["protocols=p.yaml", "budget=true", "out=table.md", "dir=runs"]
    proc = _run(args, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    output = proc.stdout + proc.stderr
    assert re.search(
        r"\[1/3\] gunpoint: experiment=gunpoint_fcn seeds=2 trainer.max_epochs=4", output
    )
    assert re.search(r"\[3/3\] gru: test/mase \S+ ± \S+ \(-\) in \d+ s", output)
    page = (tmp_path / "table.md").read_text()
    assert page in proc.stdout and "**Budget run**" in page
    rows = [line for line in page.splitlines() if line.startswith("| ") and "`experiment=" in line]
    assert len(rows) == 3
    outcomes = {}
    for protocol, row in zip(load_protocols(tmp_path / "p.yaml"), rows, strict=True):
        run_dir = tmp_path / "runs" / protocol.name
        assert len(json.loads((run_dir / "metrics.json").read_text())["seeds"]) == 2
        outcome = outcome_of(protocol, run_dir, 0.0, outcomes)
        outcomes[protocol.name] = outcome
        assert f"{outcome.mean:.3f} ± {outcome.std:.3f} (2 seeds)" in row
        assert f"| {verdict(outcome)} |" in row
    assert "lin " in rows[2]  # the linear AR's mean is the GRU's baseline


def test_bad_input_is_one_line_and_writes_no_table(tmp_path: Path) -> None:
    proc = _run(["only=gunpoint_fnc", "out=table.md"], tmp_path)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: only='gunpoint_fnc' is no protocol; valid: gunpoint_fcn")
    # the last protocol's override is wrong: nothing trains before it is found
    bad = PROTOCOLS.replace("against: [lin],", "against: [lin], overrides: [model.nope=1],")
    (tmp_path / "p.yaml").write_text(bad)
    proc = _run(["protocols=p.yaml", "out=table.md"], tmp_path)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "model.nope" in lines[0], proc.stderr
    assert not (tmp_path / "table.md").exists() and not list(tmp_path.rglob("metrics.json"))
