"""Joining a running Ray cluster (``ray.address=HOST:PORT``) as Ray ships it.

Ray turns token authentication on by default: ``ray start --head`` writes a token to
``~/.ray/auth_token`` and the cluster's processes run with ``RAY_AUTH_MODE=token``. A
driver started from a user's shell (no ``RAY_AUTH_MODE``) that names the cluster's
address does not send that token, and Ray then retries for tens of seconds before a
``ConnectionError`` traceback. Here, before Ray is asked to connect:

- the token Ray itself would read (``RAY_AUTH_TOKEN``, ``RAY_AUTH_TOKEN_PATH`` or
  ``~/.ray/auth_token``) is used whenever ``RAY_AUTH_MODE`` is unset and one exists,
  as Ray already does for ``ray.address=auto``; an explicit ``RAY_AUTH_MODE`` wins;
- the address is checked in a few seconds: nothing listening, a port that is not a Ray
  head's, and a cluster that refuses the token are each one :class:`ConfigError` that
  names the address and the fix.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from dlzoo.errors import ConfigError

__all__ = ["AUTH_MODE", "check_cluster", "split_address", "use_cluster_token"]

AUTH_MODE = "RAY_AUTH_MODE"
# a Ray head answers its first request in milliseconds; this is for a busy or far one
# (and a second to start the asking process)
ANSWER_TIMEOUT_S = 6.0
ASK_GCS = """
import sys
try:
    from ray._raylet import GcsClient
    GcsClient(address=sys.argv[1]).internal_kv_get(b"session_name", None, timeout=3)
    print("ok")
except Exception as exc:
    print(f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0]}")
"""
TOKEN_FIX = (
    "copy the cluster's token (its head's ~/.ray/auth_token) to ~/.ray/auth_token, "
    "or set RAY_AUTH_TOKEN"
)


def split_address(address: str) -> tuple[str, int] | None:
    """``(host, port)`` of a ``HOST:PORT`` address; ``None`` for ``auto`` and ``ray://``
    addresses, which Ray resolves itself.

    Raises:
        ConfigError: no port, or a port that is not a number.
    """
    if address == "auto" or address.startswith("ray://"):
        return None
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ConfigError(
            f"ray.address={address} is not HOST:PORT: give the head node's address and "
            "port as `ray start --head` printed it (e.g. ray.address=10.0.0.5:6379), or "
            "ray.address=auto on a node of the cluster"
        )
    return host.strip("[]"), int(port)


def use_cluster_token() -> bool:
    """Send the token Ray would find, when ``RAY_AUTH_MODE`` is unset and one exists.

    Returns:
        Whether this process now uses token authentication.
    """
    from ray._raylet import AuthenticationTokenLoader, Config

    mode = os.environ.get(AUTH_MODE)
    if mode is not None:
        return mode.lower() == "token"
    if not AuthenticationTokenLoader.instance().has_token(ignore_auth_mode=True):
        return False
    os.environ[AUTH_MODE] = "token"  # the trials' processes on this node inherit it
    # Ray reads its config once per process; this re-reads it (as Ray does itself
    # when it enables token mode for a local cluster)
    Config.initialize("")
    return True


def _listening(host: str, port: int, address: str) -> None:
    try:
        with socket.create_connection((host, port), timeout=ANSWER_TIMEOUT_S):
            return
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
    raise ConfigError(
        f"no Ray cluster answers at ray.address={address} ({reason}): start one with "
        f"`ray start --head --port={port}` on that machine, or fix the address"
    )


def _ask_gcs(address: str) -> str | None:
    """One request to the cluster's head: ``None`` when it answered, else what went
    wrong as ``"ErrorType: first line"``, or ``"timeout"``.

    It runs in a child process: Ray's client blocks, retries for a minute and logs to
    this process's stderr when a port never answers.
    """
    try:
        done = subprocess.run(
            [sys.executable, "-c", ASK_GCS, address],
            capture_output=True,
            text=True,
            timeout=ANSWER_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return "timeout"
    answer = done.stdout.strip().splitlines()
    if done.returncode == 0 and answer and answer[-1] == "ok":
        return None
    return answer[-1] if answer else f"exit {done.returncode}: {done.stderr.strip()[-200:]}"


def check_cluster(address: str) -> None:
    """Use the cluster's token and check that the cluster at ``address`` takes it.

    Raises:
        ConfigError: a bad address; nothing listening there; not a Ray head; the
            cluster refused this process's token (or its lack of one).
    """
    hostport = split_address(address)
    if hostport is None:
        return
    with_token = use_cluster_token()
    _listening(*hostport, address)
    problem = _ask_gcs(address)
    if problem is None:
        return
    if problem == "timeout":
        raise ConfigError(
            f"ray.address={address} accepts connections but no Ray head answered within "
            f"{ANSWER_TIMEOUT_S:.0f} s: give the port `ray start --head` printed "
            "(6379 unless --port was set)"
        )
    if problem.startswith("AuthenticationError"):
        sent = "refused this machine's token" if with_token else "wants a token and none was found"
        raise ConfigError(f"the Ray cluster at ray.address={address} {sent}: {TOKEN_FIX}")
    raise ConfigError(
        f"cannot join the Ray cluster at ray.address={address} ({problem}): check that "
        "it runs the same Ray version as this machine"
    )
