"""The TensorBoard figures are drawn outside pyplot: a run leaves the process's plotting
backend as it found it (a notebook keeps its inline plots)."""

from __future__ import annotations

from pathlib import Path

from dlzoo.run.pipeline import train


def test_a_run_draws_its_figures_without_switching_the_plotting_backend(make_cfg) -> None:
    import matplotlib

    before = matplotlib.get_backend()
    matplotlib.use("template")  # stands for a notebook's inline backend
    try:
        cfg = make_cfg("debug=limit")  # TensorBoard: confusion matrices are drawn
        train(cfg)
        assert matplotlib.get_backend() == "template"
    finally:
        matplotlib.use(before)
    assert list((Path(cfg.paths.output_dir) / "tensorboard").rglob("events.*"))
