"""The search space as Ray Tune domains: each Dimension samples exactly its set.

No Ray run: the domains are sampled in this process (``Domain.sample`` is plain numpy).
"""

from __future__ import annotations

import numpy as np
import pytest
from ray.tune.search import sample

from dlzoo.errors import ConfigError
from dlzoo.sweeps.space import Dimension, parse_space
from dlzoo.tune.space import to_ray, to_ray_space, trial_overrides

N = 400  # samples per domain: every value of a 10-value set shows up


def draws(domain: sample.Domain) -> list:
    return domain.sample(size=N, random_state=np.random.RandomState(0))


def one(value: str) -> Dimension:
    return parse_space({"k": value})["k"]


def test_interval_is_uniform_over_its_bounds() -> None:
    domain = to_ray(one("interval(0.1, 0.5)"))
    assert isinstance(domain, sample.Float) and isinstance(domain.sampler, sample.Uniform)
    assert (domain.lower, domain.upper) == (0.1, 0.5)
    values = np.array(draws(domain))
    assert values.min() >= 0.1 and values.max() <= 0.5
    assert values.mean() == pytest.approx(0.3, abs=0.02)  # uniform: the middle on average


def test_log_interval_is_loguniform() -> None:
    domain = to_ray(one("tag(log, interval(1e-4, 1e-1))"))
    assert isinstance(domain.sampler, sample.LogUniform)
    logs = np.log10(draws(domain))
    # uniform in log10 between -4 and -1: half the draws below 10^-2.5
    assert logs.min() >= -4 and logs.max() <= -1
    assert np.mean(logs < -2.5) == pytest.approx(0.5, abs=0.07)


def test_int_interval_includes_both_ends() -> None:
    domain = to_ray(one("int(interval(1, 4))"))
    assert isinstance(domain, sample.Integer)
    assert (domain.lower, domain.upper) == (1, 5)  # Ray's upper bound is exclusive
    assert set(draws(domain)) == {1, 2, 3, 4}


def test_log_int_interval() -> None:
    domain = to_ray(one("tag(log, int(interval(8, 64)))"))
    assert isinstance(domain.sampler, sample.LogUniform)
    assert (domain.lower, domain.upper) == (8, 65)  # 64 included
    values = np.array(draws(domain))
    assert values.min() == 8 and values.max() <= 64
    # log-uniform: about half the draws below the geometric middle sqrt(8 * 64) ~ 22.6
    assert np.mean(values <= 22) == pytest.approx(0.5, abs=0.08)


def test_int_range_is_its_grid() -> None:
    domain = to_ray(one("range(16, 128, 16)"))
    assert isinstance(domain, sample.Integer) and isinstance(domain.sampler, sample.Quantized)
    assert domain.sampler.q == 16
    assert set(draws(domain)) == {16, 32, 48, 64, 80, 96, 112, 128}  # high included


def test_float_range_is_its_grid() -> None:
    domain = to_ray(one("range(0.0, 1.0, 0.25)"))
    assert isinstance(domain, sample.Float) and domain.sampler.q == 0.25
    assert {round(v, 9) for v in draws(domain)} == {0.0, 0.25, 0.5, 0.75, 1.0}


def test_off_grid_range_is_a_choice_of_its_values() -> None:
    # Ray quantises to multiples of the step from 0: 10..50 by 16 would give 0, 16, 32, 48
    domain = to_ray(one("range(10, 50, 16)"))
    assert isinstance(domain, sample.Categorical)
    assert domain.categories == [10, 26, 42]
    assert set(draws(domain)) == {10, 26, 42}


def test_choice_and_constant() -> None:
    domain = to_ray(one("choice(adam, sgd)"))
    assert isinstance(domain, sample.Categorical) and domain.categories == ["adam", "sgd"]
    assert set(draws(domain)) == {"adam", "sgd"}
    assert to_ray(one("0.5")) == 0.5  # one value: passed to every trial as it is


def test_log_scale_with_a_step_is_refused() -> None:
    dim = Dimension("model.hidden_size", "int", 16, 128, 16, log=True)
    with pytest.raises(ConfigError, match=r"params.model.hidden_size: a log scale takes no step"):
        to_ray(dim)


def test_space_keeps_order_and_values_become_overrides() -> None:
    space = parse_space(
        {
            "optimizer.lr": "tag(log, interval(1e-4, 1e-1))",
            "model.hidden_size": "choice(16, 32)",
            "optimizer.name": "choice(adam, sgd)",
        }
    )
    assert list(to_ray_space(space)) == ["optimizer.lr", "model.hidden_size", "optimizer.name"]
    config = {
        "model.hidden_size": np.int64(32),  # what Ray's samplers hand a trial
        "optimizer.lr": np.float64(0.00125),
        "optimizer.name": "sgd",
        "unrelated": 1,
    }
    assert trial_overrides(config, space) == [
        "optimizer.lr=0.00125",
        "model.hidden_size=32",
        "optimizer.name=sgd",
    ]
