"""What a newcomer reads resolves inside the repository: every relative link in the README
points at a file of the project, and neither the README nor any ``--help`` text sends the
reader to files outside it (``../shared/...``) or to an issue tracker they cannot see."""

from __future__ import annotations

import re
from pathlib import Path

import click

from alliance.cli import main

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
LINK = re.compile(r"\]\(([^)\s]+)\)")
OUTSIDE = re.compile(r"\.\./shared|\bMISSION\.md\b|\bDESIGN\.md\b|\bissue \d+\b", re.IGNORECASE)


def test_every_relative_readme_link_is_a_file_of_the_project() -> None:
    targets = [t for t in LINK.findall(README) if not re.match(r"[a-z]+:|#", t)]
    assert targets, "the README links to files of the project"
    for target in targets:
        path = (ROOT / target.split("#")[0]).resolve()
        assert path.is_relative_to(ROOT), f"{target} is outside the repository"
        assert path.exists(), f"the README links to {target}, which does not exist"


def test_the_readme_sends_no_one_outside_the_repository() -> None:
    assert OUTSIDE.findall(README) == []


def _help_texts(command: click.Command, path: str) -> list[tuple[str, str]]:
    texts = [
        (path, command.help or ""),
        *((path, p.help or "") for p in command.params if isinstance(p, click.Option)),
    ]
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            texts += _help_texts(sub, f"{path} {name}")
    return texts


def test_no_help_text_sends_anyone_outside_the_repository() -> None:
    texts = _help_texts(main, "alliance")
    assert len(texts) > 50  # every command and option was read
    assert [(where, text) for where, text in texts if OUTSIDE.search(text)] == []
