"""The command line a learner meets: readable tables, names honoured, plain help."""

import subprocess
import sys

import pytest

from mmcourse._tools import cli
from tests.helpers import ROOT


def test_zoo_alone_prints_a_readable_table(capsys):
    assert cli.main(["zoo"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["name", "chapter", "metrics"] and set(out[1]) <= {"-", " "}
    assert any(line.startswith("shapes-cnn") for line in out) and not any("{" in line for line in out)


def test_zoo_list_honours_names_and_rejects_unknown_ones(capsys):
    assert cli.main(["zoo", "list", "shapes-cnn"]) == 0
    rows = capsys.readouterr().out.splitlines()[2:]
    assert len(rows) == 1 and rows[0].startswith("shapes-cnn")
    assert cli.main(["zoo", "list", "nope"]) == 2
    assert "unknown zoo entry ['nope']; known: ['clap-sounds'" in capsys.readouterr().err


def test_hub_prints_a_table_with_headers(capsys):
    assert cli.main(["hub"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["name", "repo", "id"] and "licence" in lines[0]
    assert any("openai/clip-vit-base-patch32" in line for line in lines[2:])
    assert cli.main(["hub", "--chapter", "03"]) == 0
    assert "clip-b16" not in capsys.readouterr().out


def test_help_is_plain_text(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert info.value.code == 0 and "grade" in out and "zoo" in out
    assert "``" not in out, "help text must not show reStructuredText markup"


def test_sync_and_exercise_checks_report_up_to_date(capsys):
    assert cli.main(["sync", "--check", "--root", str(ROOT)]) == 0
    assert cli.main(["exercises", "--check", "--root", str(ROOT)]) == 0
    assert "up to date" in capsys.readouterr().out


def test_python_dash_m_runs_the_command_line():
    proc = subprocess.run([sys.executable, "-m", "mmcourse", "zoo", "list", "clip-shapes"], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0 and "clip-shapes" in proc.stdout
