"""The user's guides: every link resolves inside the repository (files and #anchors), the
commands they show run in the project's environment, and the README stays a short guide."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
GUIDES = [REPO / "README.md", REPO / "CHANGELOG.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"(?<!\!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"```.*?```", re.S)
# the README is read by a streamer before anything else: about five minutes of reading (with
# the one table of how well it works, which users asked for in the README itself)
README_MAX_LINES = 170


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text())
    return {slug(m.group(1)) for m in re.finditer(r"^#+\s+(.*)$", text, re.M)}


def links(path: Path) -> list[str]:
    text = FENCE.sub("", path.read_text())
    return [a or b for a, b in LINK.findall(text)]


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_link_resolves_inside_the_repository(guide: Path) -> None:
    for target in links(guide):
        if re.match(r"[a-z]+://", target) or target.startswith("mailto:"):
            continue
        file_part, _, anchor = target.partition("#")
        dest = (guide.parent / file_part).resolve() if file_part else guide
        assert dest.is_relative_to(REPO), f"{guide.name}: {target} points outside the repository"
        assert dest.exists(), f"{guide.name}: {target} does not exist"
        if anchor:
            assert dest.suffix == ".md" and anchor in anchors(dest), f"{guide.name}: no heading for {target}"


def test_guides_show_commands_that_run_from_a_fresh_clone() -> None:
    for guide in GUIDES:
        for block in FENCE.findall(guide.read_text()):
            for line in block.splitlines():
                # a bare "python -m bgcore" fails outside .venv (No module named cv2)
                assert not re.match(r"\s*python3? -m bgcore", line), f"{guide.name}: {line}"


def test_readme_is_a_short_users_guide() -> None:
    text = (REPO / "README.md").read_text()
    assert len(text.splitlines()) <= README_MAX_LINES
    assert not re.search(r"issue \d|this session|at the start of this work", text, re.I)
    # the two commands: the main job first, the developers' tests marked as such
    assert text.index("./demo") < text.index("./test")
    assert "## For developers" in text[text.index("./test") - 400 : text.index("./test")]


def test_files_that_point_users_to_docs_point_at_existing_ones() -> None:
    for name in ("install", "obs_bgreplace.py", "demo", "test"):
        for ref in re.findall(r"docs/[\w.-]+\.md", (REPO / name).read_text()):
            assert (REPO / ref).exists(), f"{name} mentions {ref}, which does not exist"
