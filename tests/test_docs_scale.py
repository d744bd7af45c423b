"""The "Running at scale" page: its Indexed Job manifest is valid YAML of the right
shape, and every ``aiomsg`` command it shows parses with the real command line."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from aiomsg.cli.parser import build_parser

PAGE = Path(__file__).parent.parent / "docs" / "scale.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)


def _manifest() -> dict[str, dict[str, Any]]:
    yaml = pytest.importorskip("yaml")
    (block,) = _blocks("yaml")
    return {doc["kind"]: doc for doc in yaml.safe_load_all(block)}


def _commands(script: str) -> list[list[str]]:
    """The ``aiomsg`` command lines of a shell script, continuation lines joined and
    shell variables given sample values."""
    joined = re.sub(r"\\\n\s*", " ", script)
    samples = {"SUB_ACCOUNT": "my-sub", "k": "2", "n": "8"}
    joined = re.sub(r"\$([A-Za-z_]+)", lambda m: samples.get(m[1], "0"), joined)
    out = []
    for line in joined.splitlines():
        line = line.split("#", 1)[0]
        if "aiomsg " in line:
            words = shlex.split(line[line.index("aiomsg ") :])
            out.append([w.replace("K", "3") if w.startswith(("out/", "K")) else w
                        for w in words[1:]])  # fmt: skip
    return out


def test_the_manifest_is_an_indexed_job_sharing_one_volume() -> None:
    docs = _manifest()
    assert set(docs) == {"PersistentVolumeClaim", "ConfigMap", "Job"}
    claim = docs["PersistentVolumeClaim"]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    job = docs["Job"]["spec"]
    assert job["completionMode"] == "Indexed"
    shards = int(docs["ConfigMap"]["data"]["AIOMSG_SHARDS"])
    assert job["completions"] == shards
    assert 1 <= job["parallelism"] <= shards
    # A podFailurePolicy needs restartPolicy Never; exit 2 fails the Job.
    assert job["template"]["spec"]["restartPolicy"] == "Never"
    (rule,) = job["podFailurePolicy"]["rules"]
    assert (rule["action"], rule["onExitCodes"]["values"]) == ("FailJob", [2])
    (container,) = job["template"]["spec"]["containers"]
    assert rule["onExitCodes"]["containerName"] == container["name"]
    assert container["envFrom"][0]["configMapRef"]["name"] == docs["ConfigMap"]["metadata"]["name"]
    (volume,) = job["template"]["spec"]["volumes"]
    assert volume["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    (mount,) = container["volumeMounts"]
    assert mount["name"] == volume["name"]
    resources = container["resources"]
    assert resources["requests"] == {"cpu": "250m", "memory": "128Mi"}
    assert resources["limits"] == {"memory": "256Mi"}
    script = container["args"][0]
    assert container["command"] == ["sh", "-c"]
    assert "$JOB_COMPLETION_INDEX" in script
    assert script.count(mount["mountPath"] + "/") >= 2  # input and outputs on the volume


def test_every_command_on_the_page_parses() -> None:
    docs = _manifest()
    scripts = [docs["Job"]["spec"]["template"]["spec"]["containers"][0]["args"][0]]
    scripts += _blocks("sh")
    commands = [c for script in scripts for c in _commands(script)]
    assert len(commands) >= 5
    parser = build_parser()
    seen = set()
    for argv in commands:
        args = parser.parse_args(argv)
        seen.add(args.command)
        if args.command == "report":
            assert args.journals, argv  # merges are checked against the journals
        else:
            assert args.journal is not None, argv
            assert args.report is not None, argv
    assert seen == {"report", "8x8", "revicom"}
