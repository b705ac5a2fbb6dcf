"""Connecting the sweep driver to Ray: a running cluster, or a local one started here.

Ray 2.60 turns token authentication on for a new local cluster when `RAY_AUTH_MODE` is
unset. We always set it explicitly: `disabled` for the private local session the sweep
starts (unless the user chose otherwise), and whatever the user set when joining a running
cluster (token mode reads the token from `RAY_AUTH_TOKEN` or `~/.ray/auth_token`).
"""

from __future__ import annotations

import os
from pathlib import Path

AUTH_ENV = "RAY_AUTH_MODE"
AUTH_MODES = ("disabled", "token")


def resolve_auth_mode(address: str | None, requested: str | None) -> str | None:
    """The RAY_AUTH_MODE to use: `requested`, else the environment's, else `disabled` for a
    local session; None (leave Ray's own default) when joining a cluster with nothing set."""
    mode = requested or os.environ.get(AUTH_ENV)
    if mode is None and address is None:
        mode = "disabled"
    if mode is not None and mode not in AUTH_MODES:
        raise ValueError(f"{AUTH_ENV}={mode!r}: choose one of {list(AUTH_MODES)}")
    return mode


def auth_token() -> str | None:
    """The token the Ray CLI would send: RAY_AUTH_TOKEN, the file RAY_AUTH_TOKEN_PATH names,
    or ~/.ray/auth_token."""
    if os.environ.get("RAY_AUTH_TOKEN"):
        return os.environ["RAY_AUTH_TOKEN"].strip()
    path = Path(os.environ.get("RAY_AUTH_TOKEN_PATH") or Path.home() / ".ray" / "auth_token")
    return path.read_text().strip() if path.is_file() else None


def connect(address: str | None = None, *, auth_mode: str | None = None, num_cpus: int | None = None) -> dict:
    """`ray.init` to `address` ("auto", "host:6379", "ray://host:10001") or, when None, a new
    local cluster owned by this process. Returns the cluster's resources."""
    import ray

    mode = resolve_auth_mode(address, auth_mode)
    if mode is not None:
        os.environ[AUTH_ENV] = mode  # inherited by every Ray process started from here
    if mode == "token" and address is not None and auth_token() is None:
        raise RuntimeError(
            f"{AUTH_ENV}=token but no token found (set RAY_AUTH_TOKEN or write it to ~/.ray/auth_token, "
            "e.g. `ray get-auth-token` on the head node)"
        )
    if ray.is_initialized():
        return ray.cluster_resources()
    if address is None:
        ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, log_to_driver=True)
    else:
        ray.init(address=address)
    return ray.cluster_resources()
