"""``ray.address=`` against a real, token-authenticated two-node Ray cluster started on
this machine (``ray start --head`` plus a second ``ray start --address``, as Ray ships
them), and the one-line errors for an address that cannot be joined.

The cluster's nodes run with ``RAY_AUTH_MODE=token`` and a ``HOME`` of their own, where
the head writes its token; ``dlzoo-tune`` runs with that ``HOME`` but without
``RAY_AUTH_MODE``, as from a user's shell. Both nodes are stopped by killing their
process groups, whatever the test did.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers.processes import free_port, process_group, wait_until

RAY = str(Path(sys.executable).with_name("ray"))
TUNE = str(Path(sys.executable).with_name("dlzoo-tune"))
RAY_VARS = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "RAY_ADDRESS")
COUNT_NODES = (
    "import ray, sys; ray.init(address=sys.argv[1], logging_level='ERROR'); "
    "print(sum(n['Alive'] for n in ray.nodes()))"
)


@dataclass
class Cluster:
    address: str
    home: Path  # holds .ray/auth_token
    logs: Path


def _user_env(home: Path) -> dict[str, str]:
    """A shell's environment: this ``HOME``, no Ray variables, one thread."""
    env = {k: v for k, v in os.environ.items() if k not in RAY_VARS}
    return {**env, "HOME": str(home), "OMP_NUM_THREADS": "1", "RAY_USAGE_STATS_ENABLED": "0"}


def _alive_nodes(address: str, env: dict[str, str]) -> int:
    done = subprocess.run(
        [sys.executable, "-c", COUNT_NODES, address], env=env, capture_output=True, text=True
    )
    return int(done.stdout.split()[-1]) if done.returncode == 0 and done.stdout.split() else 0


def _ray_start(*args: str) -> list[str]:
    # --block keeps each node's daemons in the process group that the test kills
    return [RAY, "start", "--node-ip-address=127.0.0.1", "--num-cpus=1", "--block", *args]


@pytest.fixture(scope="module")
def token_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("cluster")
    home = root / "home"
    home.mkdir()
    node_env = {**_user_env(home), "RAY_AUTH_MODE": "token"}
    port, client_port = free_port(), free_port()
    address = f"127.0.0.1:{port}"
    # Ray's socket paths must stay under 107 characters: a short temporary folder
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    head = _ray_start(
        "--head",
        f"--port={port}",
        f"--ray-client-server-port={client_port}",
        "--include-dashboard=false",
        "--disable-usage-stats",
        f"--temp-dir={temp}",
    )
    # the cluster's token, made as Ray's docs say, in the nodes' ~/.ray/auth_token
    subprocess.run([RAY, "get-auth-token", "--generate"], env=node_env, check=True)
    try:
        with process_group(head, node_env, root / "head.log") as head_proc:
            worker = _ray_start(f"--address={address}", f"--temp-dir={temp}")
            wait_until(lambda: _alive_nodes(address, node_env) == 1, 90, "Ray's head", head_proc)
            with process_group(worker, node_env, root / "worker.log") as proc:
                wait_until(lambda: _alive_nodes(address, node_env) == 2, 90, "two Ray nodes", proc)
                yield Cluster(address, home, root)
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def _tune(address: str, *argv: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    command = [TUNE, "tune_space=motions_gru_asha", f"ray.address={address}", *argv]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)


def _one_error_line(done: subprocess.CompletedProcess, *parts: str) -> None:
    assert done.returncode == 2, done.stderr[-3000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr[-3000:]
    assert all(part in lines[0] for part in parts), lines[0]


@pytest.mark.slow
@pytest.mark.ci
def test_a_search_joins_a_token_cluster_and_both_nodes_train(
    token_cluster: Cluster, tmp_path: Path
) -> None:
    """4 ASHA trials from a shell without RAY_AUTH_MODE: the token in ~/.ray/auth_token
    is used, the search finishes and names its best trial, and each node trained."""
    done = _tune(
        token_cluster.address,
        "tune.num_samples=4",
        "tune.scheduler.max_t=4",
        "tune.scheduler.grace_period=1",
        "tune.verbose=0",
        f"paths.log_dir={tmp_path}",
        env=_user_env(token_cluster.home),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "best trial: " in done.stdout and "ASHA stopped" in done.stdout
    assert "trials ran on 2 Ray nodes" in done.stdout, done.stdout[-2000:]
    # Ray's own record of every report: the node that trained each trial
    results = list(tmp_path.glob("**/ray/*/result.json"))
    nodes = {
        json.loads(line)["node"]
        for path in results
        for line in path.read_text().splitlines()
        if line.strip()
    }
    assert len(results) == 4 and len(nodes) == 2
    assert len(list(tmp_path.glob("**/metrics.json"))) == 4


@pytest.mark.slow
@pytest.mark.parametrize(
    ("token", "message"),
    [(None, "wants a token and none was found"), ("0" * 32, "refused this machine's token")],
)
def test_a_cluster_refusing_the_token_is_one_error_line(
    token_cluster: Cluster, tmp_path: Path, token: str | None, message: str
) -> None:
    home = tmp_path / "elsewhere"  # no ~/.ray/auth_token here
    home.mkdir()
    env = _user_env(home)
    if token is not None:
        env["RAY_AUTH_TOKEN"] = token
    start = time.monotonic()
    done = _tune(token_cluster.address, f"paths.log_dir={tmp_path / 'logs'}", env=env)
    _one_error_line(done, token_cluster.address, message, "RAY_AUTH_TOKEN")
    assert time.monotonic() - start < 20 and not (tmp_path / "logs").exists()


def test_nothing_listening_is_one_error_line_within_seconds(tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    start = time.monotonic()
    done = _tune(address, f"paths.log_dir={tmp_path / 'logs'}", env=_user_env(tmp_path))
    _one_error_line(done, f"error: no Ray cluster answers at ray.address={address}")
    assert "ray start --head" in done.stderr
    assert time.monotonic() - start < 30 and not (tmp_path / "logs").exists()


def test_a_port_that_is_not_a_ray_head_is_named(tmp_path: Path) -> None:
    """A server that accepts connections and never answers (not Ray's GCS)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        address = f"127.0.0.1:{server.getsockname()[1]}"
        start = time.monotonic()
        done = _tune(address, f"paths.log_dir={tmp_path / 'logs'}", env=_user_env(tmp_path))
        _one_error_line(done, address, "no Ray head answered within")
        assert time.monotonic() - start < 30


@pytest.mark.parametrize("address", ["myhead", "myhead:port", ":6379"])
def test_an_address_without_a_port_is_refused(address: str) -> None:
    from dlzoo.errors import ConfigError
    from dlzoo.tune.cluster import split_address

    with pytest.raises(ConfigError, match="is not HOST:PORT"):
        split_address(address)


def test_auto_and_ray_client_addresses_are_left_to_ray() -> None:
    from dlzoo.tune.cluster import split_address

    assert split_address("auto") is None and split_address("ray://head:10001") is None
    assert split_address("10.0.0.5:6379") == ("10.0.0.5", 6379)
    assert split_address("[::1]:6379") == ("::1", 6379)
