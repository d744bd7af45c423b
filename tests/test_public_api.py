import re
import socket
import tempfile

import pytest

import aiomsg


def test_all_is_sorted_and_complete() -> None:
    assert list(aiomsg.__all__) == sorted(aiomsg.__all__)
    for name in aiomsg.__all__:
        assert hasattr(aiomsg, name), name


def test_every_error_derives_from_the_root() -> None:
    for name in aiomsg.__all__:
        obj = getattr(aiomsg, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, aiomsg.AiomsgError), name


def test_demo_runs(capsys, monkeypatch, tmp_path) -> None:
    from aiomsg.cli import main

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert main(["demo"]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert "accepted 2,500 in 3 requests" in out
    assert "first pass: cancelled 100" in out
    assert "messages cancelled" in out
    assert "refused with ConflictError (HTTP 409)" in out
    assert "Stop 25,000 Revicom messages" in out
    assert "stopped 24,000" in out
    # The receipts loop: answers lost, receipts stored, every unknown resolved.
    assert "sent: accepted 300, unknown 200 in 5 requests" in out
    assert "unknown after the send: 200 " in out
    stored = re.search(r"receipts stored: ([\d,]+) ", out)
    assert stored is not None
    assert int(stored[1].replace(",", "")) >= 2 * 500  # at least queued and sent for each
    assert "unknown after reconcile: 0 (200 resolved from the receipts): accepted 500\n" in out
    states = re.search(r"delivery states: (.*)\n", out)
    assert states is not None
    counted = dict(part.split(" ") for part in states[1].split(", "))
    assert set(counted) == {"delivered", "read", "undelivered"}
    assert sum(int(n) for n in counted.values()) == 500
    assert captured.err == ""
    # Nothing left behind: the temporary store is gone and the receiver's port is closed.
    assert list(tmp_path.iterdir()) == []
    receiver = re.search(r"receipt receiver at http://127\.0\.0\.1:(\d+)/", out)
    assert receiver is not None
    port = int(receiver[1])
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), 1):
        pass
