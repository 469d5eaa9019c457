"""The README's first screen and badges; the command line."""

import re
import tomllib

import pytest

from conftest import ROOT
from mmcourse import cli

README = (ROOT / "README.md").read_text()
BADGE = re.compile(r"\(https://colab\.research\.google\.com/github/([\w-]+/[\w-]+)/blob/main/([\w/.-]+\.ipynb)\)")


def test_first_screen_shows_course_and_test():
    first_screen = "\n".join(README.splitlines()[:25])
    assert "make course" in first_screen and "make test" in first_screen


def test_every_chapter_and_exercise_notebook_has_a_working_badge():
    badges = BADGE.findall(README)
    homepage = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Homepage"]
    assert {repo for repo, _ in badges} == {homepage.removeprefix("https://github.com/")}
    linked = {path for _, path in badges}
    for path in linked:
        assert (ROOT / path).exists(), f"badge points at missing {path}"
    for d in ("chapters", "exercises"):
        for nb in (ROOT / d).glob("*.ipynb"):
            assert f"{d}/{nb.name}" in linked, f"README has no badge for {d}/{nb.name}"


def test_readme_test_command_is_what_ci_runs():
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_cli_hub_zoo_and_help(capsys):
    assert cli.main(["hub"]) == 0
    assert "openai/clip-vit-base-patch32" in capsys.readouterr().out
    assert cli.main(["zoo", "list"]) == 0
    assert '"shapes-cnn"' in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        cli.main(["--help"])
    assert info.value.code == 0 and "grade" in capsys.readouterr().out


def test_cli_sync_check_reports_up_to_date(capsys):
    assert cli.main(["sync", "--check", "--root", str(ROOT)]) == 0
    assert cli.main(["exercises", "--check", "--root", str(ROOT)]) == 0
    assert "up to date" in capsys.readouterr().out
