"""Connecting the sweep driver to Ray: a running cluster, or a local one started here.

The private local cluster listens on 127.0.0.1 only: GCS, raylet, object manager, workers,
dashboard and its agents, metrics. Ray binds a node's servers to the loopback address only
when the node's IP is a loopback one, and on Linux `ray.init` turns a requested
"127.0.0.1" into the machine's network address unless Ray runs in its single-machine mode
(`RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`, the default on macOS and Windows); `connect` turns
that mode on before it starts the cluster, so nobody on the network can reach it.

Ray 2.60 turns token authentication on for a new local cluster when `RAY_AUTH_MODE` is
unset. We always set it explicitly: `disabled` for the private local session the sweep
starts (safe because of the loopback binding; `connect` refuses to start it otherwise),
and whatever the user set when joining a running cluster (token mode reads the token from
`RAY_AUTH_TOKEN` or `~/.ray/auth_token`).

Ray's public API gives the rest: the dashboard's URL and the session directory come from the
context `ray.init` returns. One private name remains: `ray._private.ray_constants.
ENABLE_RAY_CLUSTER` in `single_machine_mode`, because Ray reads the environment variable once,
when it is imported, and offers no public switch to the single-machine mode afterwards; it is
why `pyproject.toml` holds ray to the release the tests passed on (`ray<2.61`).
"""

from __future__ import annotations

import os
from pathlib import Path

AUTH_ENV = "RAY_AUTH_MODE"
AUTH_MODES = ("disabled", "token")
LOOPBACK = "127.0.0.1"
SINGLE_MACHINE_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"  # "0": Ray's single-machine mode


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


def is_loopback(address: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address == "localhost"


def single_machine_mode() -> str:
    """Puts Ray in its single-machine mode, in this process and the Ray processes it starts;
    returns the node IP a new local cluster will then bind to."""
    import ray
    import ray._private.ray_constants as ray_constants

    os.environ[SINGLE_MACHINE_ENV] = "0"  # read by every Ray process started from here
    ray_constants.ENABLE_RAY_CLUSTER = False  # this process read it when it imported Ray
    return ray.util.get_node_ip_address()


def connect(address: str | None = None, *, auth_mode: str | None = None, num_cpus: int | None = None, dashboard: bool = False) -> dict:
    """`ray.init` to `address` ("auto", "host:6379", "ray://host:10001") or, when None, a new
    local cluster owned by this process, bound to 127.0.0.1 (with its dashboard there when
    `dashboard`). Returns the cluster's resources."""
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
        node_ip = single_machine_mode()
        if not is_loopback(node_ip) and mode != "token":
            raise RuntimeError(
                f"a local Ray cluster would listen on {node_ip}, not on {LOOPBACK} only, and without authentication; "
                "run with --auth-mode token"
            )
        _context["init"] = ray.init(
            address="local",
            num_cpus=num_cpus,
            _node_ip_address=LOOPBACK,
            include_dashboard=dashboard,
            dashboard_host=LOOPBACK,
            log_to_driver=True,
        )
    else:
        _context["init"] = ray.init(address=address)
    return ray.cluster_resources()


_context: dict = {}  # "init": the RayContext of the ray.init this process made through connect


def dashboard_url() -> str | None:
    """`http://host:port` of the dashboard of the cluster `connect` started or joined (from
    ray.init's context); None when it runs without one or Ray was initialised elsewhere."""
    context = _context.get("init")
    url = getattr(context, "dashboard_url", None) if context is not None else None
    if not url:
        return None
    return url if "://" in url else f"http://{url}"


def session_dir() -> str | None:
    """The session directory of the local cluster `connect` started (None when joined)."""
    context = _context.get("init")
    return context.address_info.get("session_dir") if context is not None else None
