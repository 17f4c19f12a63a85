"""The series as a book to read without running: the executed notebooks rendered as a static HTML site.

    out = build("smoke")              # artifacts/smoke/notebooks/NN_*.ipynb -> artifacts/smoke/book/
    report = check_links(out)         # every local href and src (and #fragment) must resolve

One page per chapter (NN_slug.html, with index / previous / next links), index.html (the table of contents, each
chapter titled by its notebook's first markdown heading) and glossary.html (from notebooks/GLOSSARY.md). Figures
are the notebooks' embedded image outputs, so pages are self-contained. Notebooks link to each other as
`[04 · Downstream evaluation](04_downstream_evaluation.ipynb)` and to the glossary as `[AUC](GLOSSARY.md#auc)`;
those links are rewritten to the HTML pages, #fragments kept.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
from nbconvert import HTMLExporter

from . import runner
from .config import PROFILES, cache_root

GLOSSARY = runner.NOTEBOOKS_DIR / "GLOSSARY.md"
GLOSSARY_PAGE = "glossary.html"
# what executes a profile's notebooks into artifacts/<profile>/notebooks/
RUN_COMMAND = {"default": "make reproduce", "smoke": "make test", "full": "make reproduce-full"}
# a link to a sibling chapter or to the glossary, as notebooks write it
SOURCE_LINK = re.compile(r'href="(?:\./)?(?:(\d\d_[^"#/]+)\.ipynb|GLOSSARY\.md)(#[^"]*)?"')
STYLE = """<style>
.book-nav { max-width: 1100px; margin: 0.8em auto; padding: 0.4em 1em; font: 15px/1.5 sans-serif;
            display: flex; flex-wrap: wrap; gap: 0.4em 1.5em; border-bottom: 1px solid #ddd; }
.book-nav a { text-decoration: none; }
</style>"""


@dataclass
class Chapter:
    """One executed notebook: its content, the page it becomes and its title (the first markdown heading)."""

    nb: nbformat.NotebookNode
    page: str
    title: str

    @property
    def short_title(self) -> str:
        """The title up to its colon or its parenthesis, for the navigation bar."""
        return re.split(r":| \(", self.title)[0]


@dataclass
class LinkReport:
    """What check_links found in a folder of pages."""

    pages: int
    megabytes: float
    inline_images: int  # <img> with a data: URI
    local_links: int
    external_links: int  # http(s), mailto and other schemes: not fetched
    broken: list[str] = field(default_factory=list)


def build(
    profile: str = "default",
    notebooks: Path | None = None,
    out: Path | None = None,
    glossary: Path | None = None,
    series: list[str] | None = None,
) -> Path:
    """Render the executed notebooks `series` (default: the names of notebooks/NN_*.ipynb) found in `notebooks`
    (default: artifacts/<profile>/notebooks) and `glossary` (default: notebooks/GLOSSARY.md) into `out`
    (default: artifacts/<profile>/book); returns `out`. Raises FileNotFoundError naming every missing notebook and
    the command that executes them, ValueError if an executed notebook holds an error."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {sorted(PROFILES)}")
    notebooks = notebooks or cache_root() / profile / "notebooks"
    out = out or cache_root() / profile / "book"
    glossary = glossary or GLOSSARY
    series = series or [p.name for p in runner.notebook_paths()]
    command = RUN_COMMAND.get(profile, f"python -m qa_helpers run --profile {profile}")
    missing = [name for name in series if not (notebooks / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"not executed for profile {profile!r}: {', '.join(missing)} (looked in {notebooks}); "
            f"`{command}` executes them"
        )
    chapters = [_read_chapter(notebooks / name, command) for name in series]

    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("[0-9][0-9]_*.html"):
        stale.unlink()
    exporter = HTMLExporter()
    for i, ch in enumerate(chapters):
        nav = _nav(chapters[i - 1] if i else None, chapters[i + 1] if i + 1 < len(chapters) else None)
        _write(out / ch.page, exporter, ch.nb, ch.title, nav)
    glossary_nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(glossary.read_text(encoding="utf-8"))])
    _write(out / GLOSSARY_PAGE, exporter, glossary_nb, "Glossary", _nav(None, None))
    (out / "index.html").write_text(_index(chapters, profile), encoding="utf-8")
    return out


def _read_chapter(path: Path, command: str) -> Chapter:
    nb = nbformat.read(path, as_version=4)
    if any(o.get("output_type") == "error" for c in nb.cells if c.cell_type == "code" for o in c.outputs):
        raise ValueError(f"{path} holds an error output (its run failed): fix it and run `{command}` again")
    headings = (
        m[1] for c in nb.cells if c.cell_type == "markdown" for m in re.finditer(r"^#+\s+(.+)$", c.source, re.M)
    )
    return Chapter(nb, path.stem + ".html", next(headings, path.stem).strip())


def _write(path: Path, exporter: HTMLExporter, nb, title: str, nav: str) -> None:
    """One page: nbconvert's HTML with source links rewritten and the navigation bar at the top and bottom."""
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title.replace("`", "")}})
    body = SOURCE_LINK.sub(lambda m: f'href="{m[1] + ".html" if m[1] else GLOSSARY_PAGE}{m[2] or ""}"', body)
    body = body.replace("</head>", STYLE + "\n</head>", 1)
    body = re.sub(r"(<body[^>]*>)", lambda m: m[1] + "\n" + nav, body, count=1)
    body = body.replace("</body>", nav + "\n</body>", 1)
    path.write_text(body, encoding="utf-8")


def _nav(prev: Chapter | None, nxt: Chapter | None) -> str:
    links = ['<a href="index.html">Contents</a>']
    if prev:
        links.append(f'<a href="{prev.page}" rel="prev">&larr; {html.escape(prev.short_title)}</a>')
    if nxt:
        links.append(f'<a href="{nxt.page}" rel="next">{html.escape(nxt.short_title)} &rarr;</a>')
    links.append(f'<a href="{GLOSSARY_PAGE}">Glossary</a>')
    return f'<nav class="book-nav">{" ".join(links)}</nav>'


def _inline_markdown(text: str) -> str:
    """A heading's text as HTML: escaped, `code` spans kept."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def _index(chapters: list[Chapter], profile: str) -> str:
    items = "\n".join(f'<li><a href="{c.page}">{_inline_markdown(c.title)}</a></li>' for c in chapters)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Q-Anchor, reproduced: the notebook series</title>
<style>
body {{ max-width: 50em; margin: 2em auto; padding: 0 1em; font: 16px/1.6 sans-serif; color: #222; }}
li {{ margin: 0.4em 0; }}
</style>
</head>
<body>
<h1>Q-Anchor, reproduced: the notebook series</h1>
<p>The notebooks as they ran with the <code>{html.escape(profile)}</code> profile, outputs and figures included:
read them here without running anything.</p>
<ol>
{items}
</ol>
<p><a href="{GLOSSARY_PAGE}">Glossary</a>: the terms the series uses, with the module that computes each.</p>
</body>
</html>
"""


class _PageParser(HTMLParser):
    """Collects a page's (tag, href or src) pairs and the ids and names its fragments can point to."""

    def __init__(self):
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self.anchors: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value is None:
                continue
            if name == "id" or (name == "name" and tag == "a"):
                self.anchors.add(value)
            elif name in ("href", "src"):
                self.links.append((tag, value))


def check_links(folder: Path) -> LinkReport:
    """Check every href and src of every page under `folder`: a local link must name an existing file and, into a
    page of the folder, an existing id or name for its #fragment (as written or percent-decoded, as browsers look
    them up). data: URIs and external links are counted only."""
    folder = Path(folder)
    pages = {}
    for path in sorted(folder.rglob("*.html")):
        parser = _PageParser()
        parser.feed(path.read_text(encoding="utf-8"))
        pages[path.resolve()] = parser
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    report = LinkReport(len(pages), size / 1e6, 0, 0, 0)
    for page, parser in pages.items():
        for tag, link in parser.links:
            url = urlsplit(link)
            if url.scheme == "data":
                report.inline_images += tag == "img"
                continue
            if url.scheme or url.netloc:
                report.external_links += 1
                continue
            report.local_links += 1
            target = (page.parent / unquote(url.path)).resolve() if url.path else page
            where = f"{page.relative_to(folder.resolve())}: {link}"
            if not target.is_file():
                report.broken.append(f"{where} (no such file)")
            elif url.fragment and target in pages and not {url.fragment, unquote(url.fragment)} & pages[target].anchors:
                report.broken.append(f"{where} (no such anchor)")
    return report
