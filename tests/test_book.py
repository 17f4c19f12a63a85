"""The HTML book (qa_helpers/series/book.py), built from tiny executed notebooks written here."""

import shutil

import nbformat
import pytest

from qa_helpers.cli.main import main
from qa_helpers.series import book, runner

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
CHAPTERS = {
    "01_world.ipynb": "# 01 · The world: users and tasks\n\n[02](02_encoder.ipynb), [AUC](GLOSSARY.md#auc)\n\n## Setup",
    "02_encoder.ipynb": "# 02 · The `<USER_EMB>` encoder\n\nBack to [the world's setup](./01_world.ipynb#Setup).",
    "03_probe.ipynb": "Intro without a heading.\n\n## 03 · Probing (paper §4.2)\n\nSee the [glossary](GLOSSARY.md).",
}
GLOSSARY = '# Glossary\n\n### <a id="auc"></a>AUC\n\n$P(s^+ > s^-)$, used in [01](01_world.ipynb).\n'


def write_executed(folder, chapters: dict, error: bool = False):
    """Executed-looking notebooks: a markdown cell, then a code cell with a PNG output (or an error)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, markdown in chapters.items():
        out = (
            nbformat.v4.new_output("error", ename="ValueError", evalue="boom", traceback=[])
            if error
            else nbformat.v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"})
        )
        code = nbformat.v4.new_code_cell("plot()", execution_count=1, outputs=[out])
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(markdown), code]), folder / name)
    glossary = folder / "GLOSSARY.md"
    glossary.write_text(GLOSSARY)
    return glossary


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("book")
    glossary = write_executed(folder / "notebooks", CHAPTERS)
    return book.build("smoke", folder / "notebooks", folder / "book", glossary, list(CHAPTERS))


def test_a_page_per_chapter_an_index_and_a_glossary(built):
    names = sorted(p.name for p in built.iterdir())
    assert names == ["01_world.html", "02_encoder.html", "03_probe.html", "glossary.html", "index.html"]
    index = (built / "index.html").read_text()
    titles = [
        '<a href="01_world.html">01 · The world: users and tasks</a>',
        '<a href="02_encoder.html">02 · The <code>&lt;USER_EMB&gt;</code> encoder</a>',
        '<a href="03_probe.html">03 · Probing (paper §4.2)</a>',
        '<a href="glossary.html">',
    ]
    positions = [index.index(t) for t in titles]
    assert positions == sorted(positions)


def test_source_links_point_to_pages_and_pages_have_a_nav_bar(built):
    first, second = (built / "01_world.html").read_text(), (built / "02_encoder.html").read_text()
    assert 'href="02_encoder.html"' in first and 'href="glossary.html#auc"' in first
    assert 'href="01_world.html#Setup"' in second
    assert 'href="01_world.html"' in (built / "glossary.html").read_text()
    for page in built.glob("*.html"):
        text = page.read_text()
        assert ".ipynb" not in text and "GLOSSARY.md" not in text, page.name
    assert 'rel="prev">&larr; 01 · The world</a>' in second and 'href="03_probe.html" rel="next"' in second
    assert "data:image/png;base64," + PNG in first


def test_link_check_passes_on_the_built_book(built):
    report = book.check_links(built)
    assert report.broken == []
    assert (report.pages, report.inline_images) == (5, 3)
    assert report.local_links > 0 and report.megabytes > 0


def test_link_check_lists_every_broken_link(built, tmp_path):
    folder = shutil.copytree(built, tmp_path / "book")
    (folder / "extra.html").write_text(
        '<a href="missing.html">x</a> <a href="01_world.html#no-such-anchor">y</a> <img src="gone.png">'
        '<a href="#here" id="here">ok</a> <a href="https://arxiv.org/abs/2602.14492">paper</a> <img src="data:,">'
    )
    report = book.check_links(folder)
    assert report.broken == [
        "extra.html: missing.html (no such file)",
        "extra.html: 01_world.html#no-such-anchor (no such anchor)",
        "extra.html: gone.png (no such file)",
    ]
    assert report.external_links >= 1


def test_the_command_fails_on_a_link_to_no_chapter(tmp_path, monkeypatch, capsys):
    chapters = {"01_only.ipynb": "# 01 · Only\n\nOn to [99](99_missing.ipynb)."}
    monkeypatch.setattr(book, "GLOSSARY", write_executed(tmp_path / "nb", chapters))
    monkeypatch.setattr(runner, "notebook_paths", lambda: [tmp_path / name for name in chapters])
    assert main(["book", "--profile", "smoke", "--notebooks", str(tmp_path / "nb"), "--out", str(tmp_path / "b")]) == 1
    assert "01_only.html: 99_missing.html (no such file)" in capsys.readouterr().err


def test_a_notebook_not_executed_is_named_with_the_command_that_runs_it(tmp_path):
    glossary = write_executed(tmp_path, {"01_world.ipynb": CHAPTERS["01_world.ipynb"]})
    with pytest.raises(FileNotFoundError, match=r"02_encoder\.ipynb.*`make test`"):
        book.build("smoke", tmp_path, tmp_path / "book", glossary, ["01_world.ipynb", "02_encoder.ipynb"])
    with pytest.raises(FileNotFoundError, match="`make reproduce`"):
        book.build("default", tmp_path, tmp_path / "book", glossary, ["02_encoder.ipynb"])


def test_a_notebook_whose_run_failed_is_refused(tmp_path):
    glossary = write_executed(tmp_path, {"01_world.ipynb": CHAPTERS["01_world.ipynb"]}, error=True)
    with pytest.raises(ValueError, match="01_world.ipynb holds an error output"):
        book.build("smoke", tmp_path, tmp_path / "book", glossary, ["01_world.ipynb"])
