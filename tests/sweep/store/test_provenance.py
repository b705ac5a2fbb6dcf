"""Provenance records: the checkout's commit, versions, command, host, device; the table footer."""

from __future__ import annotations

import subprocess

from sweep.store import provenance


def test_the_sweep_record_names_this_checkout_and_the_libraries():
    record = provenance.sweep_provenance(["sweep/run.py", "--space", "masks", "--set", "pretrain.lr=3e-4"])
    head = subprocess.run(["git", "-C", str(provenance.ROOT), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert record["git_commit"] == head and isinstance(record["git_dirty"], bool)
    for name in ("python", "torch", "ray", "numpy", "wfdb"):
        assert record[name], name
    assert record["command"].endswith("sweep/run.py --space masks --set pretrain.lr=3e-4")
    assert record["host"]
    assert record["device"] == "cpu" or record["device"].startswith("cuda (")


def test_outside_a_checkout_the_commit_is_unknown_not_invented(tmp_path):
    assert provenance.git_state(tmp_path) == {"git_commit": None, "git_dirty": None}


def test_a_trial_keeps_the_driver_commit_and_adds_its_own_machine():
    driver = {"git_commit": "abc123", "git_dirty": True, "command": "python sweep/run.py", "host": "driver-host"}
    record = provenance.trial_provenance(driver)
    assert record["git_commit"] == "abc123" and record["git_dirty"] is True and record["command"] == "python sweep/run.py"
    assert record["host"] != "driver-host" and record["torch"]


def test_the_footer_is_one_line_with_the_commit_and_versions():
    line = provenance.footer({"git_commit": "0123456789abcdef", "git_dirty": True, "python": "3.11.7", "torch": "2.13.0",
                              "ray": "2.60.0", "numpy": "2.4.6", "wfdb": "4.3.1", "host": "h", "device": "cpu"})
    assert line == "code 0123456789ab (uncommitted changes); python 3.11.7, torch 2.13.0, ray 2.60.0, numpy 2.4.6, wfdb 4.3.1; ran on h, cpu"
    assert "not recorded" in provenance.footer(None)
