"""The README's set-up commands are the ones CI runs."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _bash_blocks(text: str) -> list[str]:
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S)]


def test_readme_gives_exactly_two_setup_commands_and_ci_runs_the_test_one() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    setup = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    commands = _bash_blocks(setup)
    assert len(commands) == 2, commands
    demo, tests = commands
    assert demo.endswith("nbtrack demo")
    assert tests.endswith("pytest")
    ci_lines = (REPO / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci_lines[-1] == tests


def test_the_binder_badge_opens_the_quickstart_of_this_repository() -> None:
    import tomllib

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    slug = project["urls"]["Repository"].removeprefix("https://github.com/")
    badge = re.search(r"\[!\[Binder\]\([^)]*\)\]\(([^)]*)\)", readme)
    assert badge is not None, "no Binder badge"
    assert badge.group(1) == (
        f"https://mybinder.org/v2/gh/{slug}/HEAD?urlpath=lab/tree/notebooks/01-quickstart.ipynb"
    )
    assert (REPO / "notebooks" / "01-quickstart.ipynb").is_file()


def test_every_local_link_and_image_of_the_readme_exists() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(((?!https?:|#)[^)\s]+)\)", readme)
    assert "docs/images/compare-widget.png" in targets
    missing = [t for t in targets if not (REPO / t.split("#")[0]).exists()]
    assert missing == []
    png = (REPO / "docs/images/compare-widget.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
