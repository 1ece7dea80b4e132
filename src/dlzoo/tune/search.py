"""Ray Tune put together from a :class:`~dlzoo.tune.plan.TunePlan`: the scheduler, the
searcher, Ray itself (local, or an existing cluster) and the Tuner; :func:`tune` is the
whole search from ``dlzoo-tune``'s arguments.

Schedulers count epochs (``time_attr="epoch"``, reported by
:class:`~dlzoo.tune.callback.TuneReport`) and read ``plan.metric`` each epoch:

- ``asha``: asynchronous successive halving (Li et al. 2020): rungs at
  ``grace_period * reduction_factor^k`` epochs; a trial reaching a rung goes on only
  if it is in the best ``1 / reduction_factor`` of the trials that reached it;
- ``hyperband`` (Li et al. 2018): brackets of successive halving that pause the trials
  of a rung, keep the best and resume them from their checkpoints;
- ``fifo``: every trial trains to ``max_t``.

Searchers: ``random`` (Ray's random sampling of the space) or ``optuna`` (Ray's
``OptunaSearch``: Optuna's TPE, which proposes each trial from the results so far).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from omegaconf import OmegaConf

from dlzoo.errors import ConfigError
from dlzoo.run.threads import cpu_count
from dlzoo.tune.cluster import check_cluster
from dlzoo.tune.plan import TunePlan, make_plan
from dlzoo.tune.space import to_ray_space
from dlzoo.tune.summary import TuneSummary, summarize
from dlzoo.tune.trial import TrialPlan, make_trainable

__all__ = ["import_ray", "make_scheduler", "make_searcher", "run_search", "start_ray"]

# what trial processes need in their environment, on this machine or a cluster's
TRIAL_ENV = {
    # a trial works where it was started: relative data paths mean what they meant
    "RAY_CHDIR_TO_TRIAL_DIR": "0",
    "RAY_USAGE_STATS_ENABLED": "0",
}


def import_ray() -> Any:
    """``ray`` with Tune, or one line saying how to install it.

    Raises:
        ConfigError: Ray Tune is not installed.
    """
    try:
        import ray
        import ray.tune
    except ImportError as exc:
        raise ConfigError(
            f"dlzoo-tune needs Ray Tune ({exc.name or 'ray'} is not installed): "
            "pip install -e '.[tune]'"
        ) from None
    return ray


def make_scheduler(plan: TunePlan) -> Any:
    """The trial scheduler that ``tune.scheduler`` names."""
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler, HyperBandScheduler

    sched = plan.tune.scheduler
    factor = float(sched.reduction_factor or 3)
    if sched.name == "asha":
        grace = int(sched.grace_period or 1)
        return ASHAScheduler(
            time_attr="epoch", max_t=plan.max_t, grace_period=grace, reduction_factor=factor
        )
    if sched.name == "hyperband":
        return HyperBandScheduler(time_attr="epoch", max_t=plan.max_t, reduction_factor=factor)
    return FIFOScheduler()


def make_searcher(plan: TunePlan) -> Any:
    """The search algorithm that ``tune.searcher`` names, seeded by the run's ``seed``.

    Raises:
        ConfigError: ``optuna`` without Optuna installed.
    """
    seed = plan.train_cfg.get("seed")
    if plan.tune.searcher == "random":
        from ray.tune.search.basic_variant import BasicVariantGenerator

        return BasicVariantGenerator(random_state=seed)
    try:
        import optuna  # noqa: F401
    except ImportError:
        raise ConfigError("tune.searcher=optuna needs Optuna: pip install -e '.[tune]'") from None
    from ray.tune.search.optuna import OptunaSearch

    return OptunaSearch(seed=seed)


def start_ray(plan: TunePlan) -> Any:
    """Start Ray on this machine, or join the cluster at ``ray.address``.

    Local Ray gets every core (or ``ray.num_cpus``), no dashboard and quiet logs: on a
    small machine its start-up is most of a short search's overhead.

    Returns:
        The ``ray`` module (``ray.shutdown()`` ends this session).
    """
    ray = import_ray()
    settings = plan.ray
    runtime_env = {"env_vars": dict(TRIAL_ENV)}
    os.environ.update(TRIAL_ENV)  # a local Ray's processes inherit this environment
    # one checkpoint kept per trial makes Tune snapshot its state often, by design
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    common = {
        "runtime_env": runtime_env,
        "log_to_driver": bool(settings.log_to_driver),
        "logging_level": logging.WARNING,
    }
    if settings.address:
        ray.init(address=str(settings.address), **common)
        return ray
    ray.init(
        # a new Ray of our own, even where `ray start` left a cluster (or its address
        # file, after a crash) on this machine: Ray would join that one otherwise
        address="local",
        num_cpus=int(settings.num_cpus or cpu_count()),
        num_gpus=None if settings.num_gpus is None else int(settings.num_gpus),
        include_dashboard=False,
        **common,
    )
    return ray


def _trial_dirname(trial: Any) -> str:
    return str(trial)  # the trial's name: dlzoo_<trial id>


def run_search(plan: TunePlan) -> Any:
    """Run the search (Ray must be started); return Ray's ``ResultGrid``."""
    from ray import tune

    tune_cfg = plan.tune
    cpus = float(tune_cfg.resources.cpu)
    trial = TrialPlan(
        tune_dir=str(plan.tune_dir),
        overrides=tuple(plan.overrides),
        space=plan.space,
        threads=max(1, int(cpus)),
        max_t=plan.max_t,
        scheduler=plan.scheduler_label,
    )
    resources = {"cpu": cpus, "gpu": float(tune_cfg.resources.get("gpu") or 0)}
    tuner = tune.Tuner(
        tune.with_resources(make_trainable(trial), resources),
        param_space=to_ray_space(plan.space),
        tune_config=tune.TuneConfig(
            metric=plan.metric,
            mode=plan.mode,
            scheduler=make_scheduler(plan),
            search_alg=make_searcher(plan),
            num_samples=int(tune_cfg.num_samples),
            max_concurrent_trials=tune_cfg.max_concurrent,
            reuse_actors=bool(tune_cfg.reuse_actors),
            # Ray's folder of a trial is named as its run directory (not by its values)
            trial_dirname_creator=_trial_dirname,
        ),
        run_config=tune.RunConfig(
            name="ray",
            storage_path=str(plan.ray.get("storage_path") or plan.tune_dir),
            verbose=int(tune_cfg.verbose),
            # the latest checkpoint of each trial: where a paused trial resumes
            checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
        ),
    )
    return tuner.fit()


def settings_line(plan: TunePlan) -> str:
    """One line naming the search, printed before it starts."""
    sched = OmegaConf.to_container(plan.tune.scheduler, resolve=True)
    knobs = ", ".join(f"{k}={v}" for k, v in sched.items() if k != "name" and v is not None)
    return (
        f"dlzoo-tune: {plan.tune.num_samples} trials of {plan.train_cfg.task_name}, "
        f"{plan.scheduler_label} ({knobs}), {plan.tune.searcher} search on {plan.metric} "
        f"({plan.mode}); directory {plan.tune_dir}"
    )


def tune(argv: list[str]) -> TuneSummary:
    """Run a search from ``dlzoo-tune``'s arguments; print and write its summary.

    Raises:
        ConfigError: bad input, or a cluster at ``ray.address`` that cannot be joined,
            before Ray starts and before the search's directory is made.
    """
    plan = make_plan(argv)
    import_ray()
    if plan.ray.address:
        check_cluster(str(plan.ray.address))
    try:
        plan.tune_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot write the search's directory {plan.tune_dir} ({exc.strerror or exc}): "
            "set paths.log_dir=DIR to a folder you can write"
        ) from None
    print(settings_line(plan), flush=True)
    ray = start_ray(plan)
    try:
        results = run_search(plan)
    finally:
        ray.shutdown()
    summary = summarize(plan, results)
    print(summary.text())
    print(f"summary: {summary.write()}")
    return summary
