"""The README is the front page and `docs/` the reference: the README stays short, every
relative link resolves (to a file, and a `#fragment` to one of its headings), `docs/` has
each of its pages and their sections, and the data dictionary lists the payments schema's
columns in order."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
README_MAX_LINES = 250

# page -> headings it must have (exact heading text, any level)
PAGES = {
    "README.md": [],  # the index
    "configuration.md": ["Sections", "Overrides: flags and `--set`", "What is refused",
                         "Legacy configs"],
    "data-dictionary.md": ["payments", "Types in each reader", "Catalogs",
                           "Ground truth (realism v3)"],
    "realism.md": ["How rows are made",
                   "Realism v2: behaviour, fraud scenarios, label timing, difficulty",
                   "Realism v3: a believable world",
                   "Realism v3: fraud as behaviour that history reveals",
                   "Calibration", "Difficulty", "Difficulty by scenario"],
    "delivery.md": ["Output layout", "Safety", "Delivery to S3"],
    "scale.md": ["Dask", "Running on a cloud Dask cluster (Kubernetes, Coiled, cloud VMs)"],
    "performance.md": ["How it is measured", "Measurements", "What makes it fast"],
    "testing.md": ["The test suite", "Mutation check", "Mutation measure (generated sample)",
                   "Measured score"],
    "walkthrough.md": ["Walk-through: generate, inspect, look, build features",
                       "The dbt example", "Reading the output"],
    "architecture.md": [],  # the layers and the data flow of one run
}
SETUP = "```bash\npip install . && sqlgen run\npip install '.[dev]' && pytest\n```\n"
# Text narrates what the product does, not how it was developed.
HISTORY = re.compile(
    r"\b(?:this|previous|earlier|last|first|second|third|fourth|fifth) session\b"
    r"|\bpreviously\b",
    re.I,
)

_FENCE = re.compile(r"^```.*?^```[^\n]*$", re.S | re.M)
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def slug(heading: str) -> str:
    """GitHub's anchor of a heading.

    >>> slug("With `--s3`: no shared disk")
    'with---s3-no-shared-disk'
    >>> slug("Ground truth (realism v3)")
    'ground-truth-realism-v3'
    """
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def headings(page: Path) -> list[str]:
    return _HEADING.findall(_FENCE.sub("", page.read_text(encoding="utf-8")))


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    for heading in headings(page):
        base = slug(heading)
        n = seen.get(base, 0)
        seen[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return found


def broken_links(page: Path) -> list[str]:
    """Each relative link of `page` whose file, or heading, does not exist."""
    text = _FENCE.sub("", page.read_text(encoding="utf-8"))
    text = re.sub(r"`[^`\n]*`", "", text)  # inline code is not a link
    problems = []
    for target in _LINK.findall(text):
        if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I):  # https:, mailto:
            continue
        path, _, fragment = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            problems.append(f"{page.name}: {target} (no such file)")
        elif fragment and dest.suffix == ".md" and fragment not in anchors(dest):
            problems.append(f"{page.name}: {target} (no such heading)")
    return problems


def doc_pages() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def test_readme_is_a_front_page():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) < README_MAX_LINES, f"README.md has {len(lines)} lines"
    text = README.read_text(encoding="utf-8")
    # The two set-up commands come first, before any other section.
    assert text.index(SETUP) < text.index("\n## "), "set-up block not at the top"
    assert "## Quick tour\n" in text and "## Guarantees\n" in text


def test_docs_has_every_page_and_section():
    for name, wanted in PAGES.items():
        page = DOCS / name
        assert page.is_file(), f"docs/{name} is missing"
        have = headings(page)
        for heading in wanted:
            assert heading in have, f"docs/{name}: no section {heading!r}"


def test_readme_and_index_link_every_page():
    readme = _LINK.findall(README.read_text(encoding="utf-8"))
    index = _LINK.findall((DOCS / "README.md").read_text(encoding="utf-8"))
    for name in PAGES:
        assert f"docs/{name}" in readme, f"README.md does not link docs/{name}"
        if name != "README.md":
            assert name in index, f"docs/README.md does not link {name}"


@pytest.mark.parametrize("page", doc_pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
    assert broken_links(page) == []


@pytest.mark.parametrize("page", doc_pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_development_diary(page):
    found = HISTORY.findall(page.read_text(encoding="utf-8"))
    assert found == [], f"{page.name}: {found}"


def test_data_dictionary_lists_the_payments_schema_in_order():
    schema = yaml.safe_load((ROOT / "schema" / "payments.yaml").read_text(encoding="utf-8"))
    want = [c["name"] for c in schema["columns"]]
    text = (DOCS / "data-dictionary.md").read_text(encoding="utf-8")
    section = text.split("\n## payments\n", 1)[1].split("\n### ", 1)[0]
    rows = re.findall(r"^\| `([a-z_]+)` \| ([A-Z][A-Z0-9(),]*) \|", section, re.M)
    assert [name for name, _ in rows] == want
    types = {c["name"]: c["type"] for c in schema["columns"]}
    assert {name: t for name, t in rows} == types


def test_the_checks_catch_what_they_guard(tmp_path):
    (tmp_path / "b.md").write_text("# B\n\n## Some `code`: here\n")
    page = tmp_path / "a.md"
    page.write_text(
        "# A\n\n[ok](b.md) [ok](b.md#some-code-here) [ok](#a) [web](https://x.org/y)\n"
        "[gone](c.md) [bad](b.md#nowhere) `[code](d.md)`\n"
        "```\n[fenced](e.md)\n```\n"
    )
    assert broken_links(page) == [
        "a.md: c.md (no such file)",
        "a.md: b.md#nowhere (no such heading)",
    ]
    assert HISTORY.search("as measured this session") and HISTORY.search("Previously, x")
    assert not HISTORY.search("the previous run stays; the session's time zone")
