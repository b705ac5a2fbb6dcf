"""The dashboard URL and the session directory come from the context ray.init returned."""

from __future__ import annotations

from types import SimpleNamespace

from sweep import ray_session


def test_dashboard_url_and_session_dir_from_ray_inits_context(monkeypatch):
    monkeypatch.setattr(ray_session, "_context", {})
    assert ray_session.dashboard_url() is None and ray_session.session_dir() is None  # Ray not started here
    context = SimpleNamespace(dashboard_url="127.0.0.1:8265", address_info={"session_dir": "/tmp/ray/session_x"})
    monkeypatch.setattr(ray_session, "_context", {"init": context})
    assert ray_session.dashboard_url() == "http://127.0.0.1:8265"
    assert ray_session.session_dir() == "/tmp/ray/session_x"
    context.dashboard_url = ""  # started with --no-dashboard
    assert ray_session.dashboard_url() is None
