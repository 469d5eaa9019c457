"""The README's first screen and badges."""

import re
import tomllib

from tests.helpers import ROOT

README = (ROOT / "README.md").read_text()
BADGE = re.compile(r"\(https://colab\.research\.google\.com/github/([\w-]+/[\w-]+)/blob/main/([\w/.-]+\.ipynb)\)")


def test_first_screen_starts_learners_right():
    first_screen = "\n".join(README.splitlines()[:25])
    for step in ("Learners start here", "make lab", "chapters/00_getting_started.ipynb",
                 "exercises/00_getting_started.ipynb", "make grade", "Colab"):
        assert step in first_screen, f"the README's first screen should say {step!r}"
    assert "make test" in first_screen and "make course" in first_screen, "and point contributors to the two commands"


def test_readme_links_only_to_files_in_the_repository():
    for target in re.findall(r"\]\((?!https?://)([^)#]+)\)", README) + re.findall(r"`(docs/[\w./-]+)`", README):
        assert (ROOT / target).exists(), f"README links to {target}, which is not in the repository"
    assert "shared/" not in README and "DESIGN.md" not in README


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
