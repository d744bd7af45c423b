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


def test_demo_runs(capsys) -> None:
    from aiomsg.cli import main

    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "accepted 2,500 in 3 requests" in out
    assert "first pass: cancelled 100" in out
    assert "messages cancelled" in out
    assert "refused with ConflictError (HTTP 409)" in out
    assert "Stop 25,000 Revicom messages" in out
    assert "stopped 24,000" in out
