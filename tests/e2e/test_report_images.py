"""Pictures in the report: one PNG per changed chart, base and head together, drawn offline."""

import io
import json
import shutil
import subprocess
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from lifecycle.core import files
from lifecycle.core.errors import LifecycleError
from lifecycle.reporting import charts, plots
from lifecycle.reporting.revisions import Side

from ..conftest import bin_path, run

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def colours(png: bytes) -> int:
    """How many distinct colours a PNG holds (it must decode, too)."""
    assert png.startswith(PNG_MAGIC)
    pixels = matplotlib.image.imread(io.BytesIO(png), format="png")
    assert pixels.ndim == 3 and pixels.shape[0] > 100 and pixels.shape[1] > 100
    return len(np.unique(pixels.reshape(-1, pixels.shape[2]), axis=0))


# --- pure parts --------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "stem"), [
    ("ROC", "roc"),
    ("Feature drift (PSI, training data vs current batch)",
     "feature-drift-psi-training-data-vs-current-batch"),
    ("reports/evaluation/plots/images/importance.png", "importance"),
    ("../../etc/passwd", "etc-passwd"),
    ("ÄÖ", "chart"),
    ("x" * 200, "x" * 80),
])
def test_a_chart_name_becomes_a_safe_file_stem(name, stem):
    assert charts.slug(name) == stem


def test_file_names_are_distinct_and_do_not_depend_on_order():
    names = ["roc", "ROC", "Slice metrics", "ROC"]

    given = charts.file_names(names)

    assert given == charts.file_names(list(reversed(names)))
    assert sorted(given.values()) == ["roc-2.png", "roc.png", "slice-metrics.png"]


def test_a_chart_changed_only_where_its_data_differ_between_the_revisions():
    rows = [{"x": 1, "y": 0.5, "rev": "main"}, {"x": 1, "y": 0.5, "rev": "head"},
            {"x": 2, "y": 0.7, "rev": "other"}]
    assert not charts.data_changed(rows, "main", "head")
    assert charts.data_changed([*rows, {"x": 3, "y": 1, "rev": "head"}], "main", "head")
    assert charts.data_changed(rows[:1], "main", "head")  # new or gone on one side
    same = charts.Chart("importance.png", "image", pictures={"main": b"a", "head": b"a"})
    assert not same.changed("main", "head")
    assert charts.Chart("i.png", "image", pictures={"head": b"a"}).changed("main", "head")


def test_the_revisions_rows_are_found_in_layers_and_a_templates_own_rows_are_not():
    spec = {"layer": [{"data": {"values": [{"p": 0}, {"p": 1}]}, "mark": "line"},
                      {"data": {"values": [{"x": 1, "rev": "main"}, {"x": 2, "rev": "head"}]}}]}

    assert charts.records(spec) == [{"x": 1, "rev": "main"}, {"x": 2, "rev": "head"}]
    assert charts.Chart("Calibration", "vega", spec=spec).revisions() == ["main", "head"]
    assert charts.records(None) == []


def test_chart_names_follow_dvc_yaml_keys_files_and_folders():
    plots = [{"ROC": {"x": "fpr"}}, "reports/one.json", "reports/images", 7, {"a.json": None}]

    names = charts.candidate_names(plots, lambda folder: [f"{folder}/a.png",
                                                                f"{folder}/b.png"])

    assert names == ["ROC", "reports/one.json", "reports/images/a.png", "reports/images/b.png",
                     "a.json"]
    assert charts.candidate_names(None, lambda folder: []) == []


def side(blobs: dict[str, bytes], name: str) -> Side:
    return Side(Path("."), "0" * 40, name, name, _blobs=dict(blobs))


def test_the_markdown_embeds_the_picture_and_links_no_big_file():
    chart = charts.Chart("Confusion matrix", "vega",
                               ["reports/small.json", "reports/big.json"])
    head = side({"reports/small.json": b"{}", "reports/big.json": b" " * 5_000_000}, "feature")
    pictures = plots.Pictures("out_images", "https://example.test/raw/assets/pr-1/abc")

    lines = plots.chart_lines(chart, side({}, "main"), head, "confusion-matrix.png", pictures,
                               "https://example.test/blob/abc")

    text = "\n".join(lines)
    assert lines[0] == "### Confusion matrix"
    assert ("![Confusion matrix: main and feature](https://example.test/raw/assets/pr-1/abc/"
            "confusion-matrix.png)") in text
    assert "[`reports/small.json`](https://example.test/blob/abc/reports/small.json) (1 KB)" \
        in text
    assert "`reports/big.json` (5.0 MB)" in text and "blob/abc/reports/big.json" not in text


def test_without_a_pictures_folder_the_markdown_names_the_chart_only():
    chart = charts.Chart("ROC", "vega", ["reports/roc.json"])
    head = side({"reports/roc.json": b"[]"}, "feature")

    lines = plots.chart_lines(chart, side({}, "main"), head, "roc.png", plots.Pictures(), None)

    assert not any(line.startswith("![") for line in lines)
    assert "Data: `reports/roc.json` (1 KB)." in lines


def test_a_spec_renders_to_the_same_valid_png_every_time():
    spec = {"$schema": "https://vega.github.io/schema/vega-lite/v5.json",
            "data": {"values": [{"x": x, "y": x * x % 7, "rev": rev}
                                for rev in ("main", "head") for x in range(8)]},
            "mark": "line", "encoding": {"x": {"field": "x", "type": "quantitative"},
                                         "y": {"field": "y", "type": "quantitative"},
                                         "color": {"field": "rev", "type": "nominal"}}}
    chart = charts.Chart("Line", "vega", spec=spec)

    png = charts.render(chart, "main", "head")

    assert png == charts.render(chart, "main", "head")
    assert colours(png) > 20
    broken = charts.Chart("Broken", "vega", spec={**spec, "mark": "no-such-mark"})
    with pytest.raises(LifecycleError, match="'Broken': could not draw"):
        charts.render(broken, "main", "head")


def test_two_pictures_are_drawn_side_by_side_under_their_revisions():
    pictures = [(rev, charts.side_by_side([("only", None)])) for rev in ("main", "head")]

    png = charts.side_by_side(pictures)

    assert png == charts.side_by_side(pictures)
    assert colours(png) > 20


# --- the report between two real commits -------------------------------------------------------

# The files the second commit changes: two charts' data and the importance picture.
CHANGED_SOURCES = {"reports/evaluation/plots/custom/slices.json",
                   "reports/cv/plots/metrics/roc_auc.tsv",
                   "reports/evaluation/plots/images/importance.png"}


def shifted(value):
    """Every number in `value` moved a little (the shape kept)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return value - 0.05
    if isinstance(value, list):
        return [shifted(item) for item in value]
    return {key: shifted(item) for key, item in value.items()}


@pytest.fixture(scope="module")
def two_commits(reproduced, tmp_path_factory) -> dict:
    """A copy of the reproduced project committed as `before`, and a commit `after` where two
    charts' data and the importance picture changed (the other charts did not); the names of
    the charts that changed, and the picture file of each."""
    repo = tmp_path_factory.mktemp("images") / "project"
    shutil.copytree(reproduced["repo"], repo, symlinks=True)
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-qm", "reproduced"], repo)
    run(["git", "tag", "before"], repo)
    slices = repo / "reports/evaluation/plots/custom/slices.json"
    slices.write_text(json.dumps(shifted(json.loads(slices.read_text()))))
    folds = repo / "reports/cv/plots/metrics/roc_auc.tsv"
    lines = folds.read_text().splitlines()
    header, first = lines[0].split("\t"), lines[1].split("\t")
    first[header.index("roc_auc")] = "0.5"
    folds.write_text("\n".join([lines[0], "\t".join(first), *lines[2:]]) + "\n")
    importance = repo / "reports/evaluation/plots/images/importance.png"
    importance.write_bytes(charts.side_by_side([("a different picture", None)]))
    run(["git", "commit", "-qam", "charts changed"], repo)
    run(["git", "tag", "after"], repo)
    collected = charts.collect(repo, "before", "after")
    titles = [chart.name for chart in collected if set(chart.sources) & CHANGED_SOURCES]
    files = plots.chart_names(*(Side(repo, rev, rev) for rev in ("before", "after")))
    assert len(titles) == 3 and len(collected) > 5
    return {"repo": repo, "charts": {chart.name: chart for chart in collected},
            "changed": {files[title]: title for title in titles}}


@pytest.mark.slow
def test_the_report_embeds_one_picture_per_changed_chart_showing_both_revisions(
        two_commits, reproduced):
    repo, changed = two_commits["repo"], two_commits["changed"]
    output = repo.parent / "out/report.md"

    run([bin_path("lifecycle"), "report", "--base", "before", "--head", "after", "--output",
         str(output)], repo, reproduced["env"])

    folder = output.parent / "report_images"
    # none for the others; the record of what it wrote, for the next run
    assert {path.name for path in folder.iterdir()} == {*changed, files.RECORD}
    text = output.read_text()
    embedded = {line for line in text.splitlines() if line.startswith("![")}
    headings = {chart.name: chart.heading for chart in two_commits["charts"].values()}
    assert embedded == {f"![{headings[title]}: before and after](report_images/{name})"
                        for name, title in changed.items()}
    assert "![Slices against the whole test split: before and after]" in text  # dvc.yaml's title
    plots = text.split("## Plots")[1]
    assert "confusion" not in plots.split("Unchanged:")[0].lower()
    assert ".json](" not in text  # the data files are named, not linked, without --link-root
    unchanged = next(line for line in plots.splitlines() if line.startswith("Unchanged: "))
    assert "roc" in unchanged and "confusion" in unchanged  # the ids `dvc plots show` takes
    for path in folder.glob("*.png"):
        png = path.read_bytes()
        assert colours(png) > 50, path.name
        assert len(png) < 250_000, f"{path.name}: {len(png):,} bytes"

    # What each picture draws: DVC's spec holds both revisions' data, and the picture is its PNG.
    by_name = two_commits["charts"]
    for name, title in changed.items():
        chart = by_name[title]
        assert set(chart.revisions()) == {"before", "after"}, title
        if chart.kind == "vega":
            assert {row["rev"] for row in charts.records(chart.spec)} == {"before",
                                                                                "after"}
        assert charts.render(chart, "before", "after") == (folder / name).read_bytes()
    assert not by_name["roc"].changed("before", "after")


# `--images` and `--image-root` through run() itself (the command line passes them on).
REPORT = ("import sys; from lifecycle.core.errors import run_command; "
          "from lifecycle.commands.report import run; "
          "sys.exit(run_command('report', run, base='before', head='after', output=sys.argv[1], "
          "images=sys.argv[2], image_root='https://example.test/x', overwrite=True))")


@pytest.mark.slow
def test_the_pictures_folder_is_replaced_only_while_it_holds_only_pictures(two_commits,
                                                                          reproduced):
    repo, env, changed = two_commits["repo"], reproduced["env"], two_commits["changed"]
    output, folder = repo.parent / "again/report.md", repo.parent / "again/pictures"
    command = [bin_path("python"), "-c", REPORT, str(output), str(folder)]

    run(command, repo, env)
    first = {path.name: path.read_bytes() for path in folder.iterdir()}
    assert set(first) == {*changed, files.RECORD}
    assert all(f"](https://example.test/x/{name})" in output.read_text() for name in changed)
    run(command, repo, env)  # again: replaced by the same bytes
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == first

    (folder / "notes.txt").write_text("mine")
    before = output.read_bytes()
    result = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True)

    assert result.returncode != 0
    assert "--images" in result.stderr and "notes.txt" in result.stderr
    assert {path.name for path in folder.iterdir()} == {*changed, files.RECORD, "notes.txt"}
    assert output.read_bytes() == before


@pytest.mark.slow
@pytest.mark.parametrize("images, words", [
    ("reports/evaluation/plots/images", "inside an output of the pipeline"),
    ("reports/evaluation", "inside an output of the pipeline"),
    ("reports", "it holds reports/"),
    ("mine", "did not write there (roc.png)"),
])
def test_the_pictures_folder_is_never_a_file_of_the_project_or_a_users_folder(
        two_commits, reproduced, images, words):
    """Pictures named as the report names its own are the user's all the same: only what a run
    recorded writing is replaced."""
    repo, env = two_commits["repo"], reproduced["env"]
    (repo.parent / "mine").mkdir(exist_ok=True)
    (repo.parent / "mine/roc.png").write_bytes(b"my own picture")
    before = {path: path.read_bytes() for path in [*repo.rglob("*"), *repo.parent.glob("mine/*")]
              if path.is_file() and not {".git", ".dvc"} & set(path.parts)}
    folder = images if images != "mine" else str(repo.parent / "mine")
    status = subprocess.run([bin_path("dvc"), "status", "--json"], cwd=repo, env=env,
                            capture_output=True, text=True).stdout

    result = subprocess.run([bin_path("lifecycle"), "report", "--base", "before", "--head",
                             "after", "--images", folder], cwd=repo, env=env,
                            capture_output=True, text=True)

    assert result.returncode == 1, result.stderr
    assert f"--images {folder}: refused:" in result.stderr and words in result.stderr
    assert result.stderr.count("\n") == 1
    assert {path: path.read_bytes() for path in before} == before
    assert subprocess.run([bin_path("dvc"), "status", "--json"], cwd=repo, env=env,
                          capture_output=True, text=True).stdout == status
