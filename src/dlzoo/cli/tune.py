"""``dlzoo-tune``: a Ray Tune search over one experiment's hyperparameters.

Bad input (an unknown space file, a bad space or setting, an unknown key of the trials'
config, Ray not installed) is one ``error:`` line on stderr with exit status 2, before
Ray starts.
"""

from __future__ import annotations

from dlzoo.tune.search import tune

__all__ = ["main"]

USAGE = """
dlzoo-tune tune_space=NAME [experiment=NAME] [tune.KEY=VALUE] [ray.KEY=VALUE] [train overrides]

A Ray Tune search (conf/tune.yaml + conf/tune_space/NAME.yaml): trials of the same
experiment as dlzoo-train, each a normal run directory under
logs/<task_name>/tunes/<time>/<trial>; ASHA / HyperBand stop or pause bad trials on
their per-epoch validation metric. At the end: the results table, the best trial
(overrides, run directory, checkpoint for dlzoo-eval / dlzoo-predict), how many trials
the scheduler stopped early; also in summary.md and best.yaml.

  dlzoo-tune tune_space=motions_gru_asha
  dlzoo-tune tune_space=digits_cnn_hyperband tune.num_samples=20 tune.resources.cpu=2
  dlzoo-tune tune_space=motions_gru_asha ray.address=auto     # on a running Ray cluster
  dlzoo-tune tune_space=motions_gru_asha tune.searcher=optuna data.batch_size=32

tune.*: experiment, params, metric, mode, scheduler.{name: asha|hyperband|fifo, max_t,
grace_period, reduction_factor}, searcher (random|optuna), num_samples,
resources.{cpu,gpu}, max_concurrent, reuse_actors, verbose.
ray.*: address (null: local; auto | host:port: a cluster), num_cpus, num_gpus,
log_to_driver.
"""


def main() -> None:
    """Console script ``dlzoo-tune``."""
    from dlzoo.cli.frame import run_command

    run_command(USAGE, tune)


if __name__ == "__main__":
    main()
