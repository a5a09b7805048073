"""Pictures of the charts that changed between two revisions, drawn offline, for the report.

DVC gives its own Vega-Lite spec of every chart in dvc.yaml with both revisions' data filled in
(what `dvc plots diff BASE HEAD --json` prints, and what its HTML page draws); vl-convert
renders a spec to PNG with no browser and no network, so a picture shows what `dvc plots diff`
shows. A chart that is already an image (a PNG under a plots folder) is drawn as its base and
head pictures side by side. Only charts whose data differ between the two revisions are drawn.
The same spec gives the same PNG bytes.
"""

import io
import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lifecycle.core import extras
from lifecycle.core.errors import LifecycleError
from lifecycle.core.files import finite

# Pixels per Vega-Lite pixel: sharp on high-density screens, about 100-160 KB a chart.
SCALE = 2
WORKSPACE = "workspace"  # DVC's name of the workspace as a revision
SUFFIX = ".png"


@dataclass
class Chart:
    """One chart of dvc.yaml's plots, as DVC collects it for the two revisions."""

    name: str  # DVC's id: the plot's key in dvc.yaml, or the file path of an image plot
    kind: str  # "vega" or "image"
    sources: list[str] = field(default_factory=list)  # the data files behind it
    spec: dict | None = None  # vega: DVC's filled Vega-Lite spec, every revision's data in it
    pictures: dict[str, bytes] = field(default_factory=dict)  # image: revision -> PNG bytes
    title: str = ""  # what the chart shows above it (dvc.yaml's `title`); the id where none

    @property
    def heading(self) -> str:
        return self.title or self.name

    def revisions(self) -> list[str]:
        """The revisions that have data in this chart, in DVC's order."""
        if self.kind == "image":
            return list(self.pictures)
        seen: dict[str, None] = {}
        for record in records(self.spec):
            seen.setdefault(str(record.get("rev")), None)
        return list(seen)

    def changed(self, base: str, head: str) -> bool:
        """Whether the chart's data differ between the two revisions (or one side has none)."""
        if self.kind == "image":
            return self.pictures.get(base) != self.pictures.get(head)
        return data_changed(records(self.spec), base, head)


def records(spec: Any) -> list[dict]:
    """The revisions' data rows of a filled spec (each with a `rev` field), wherever the
    template put them: top-level data, or a layer's (a template's own constant rows, such as a
    diagonal, have no `rev` and are left out)."""
    found: list[dict] = []
    if isinstance(spec, list):
        for item in spec:
            found += records(item)
    elif isinstance(spec, dict):
        for key, value in spec.items():
            if key == "data" and isinstance(value, dict) and isinstance(value.get("values"),
                                                                        list):
                found += [row for row in value["values"] if isinstance(row, dict) and "rev" in row]
            else:
                found += records(value)
    return found


def data_changed(rows: list[dict], base: str, head: str) -> bool:
    """Whether the rows of `base` differ from those of `head`, revision names aside."""
    def side(rev: str) -> list[str]:
        return [json.dumps({key: value for key, value in row.items() if key != "rev"},
                           sort_keys=True, default=str)
                for row in rows if row.get("rev") == rev]
    return side(base) != side(head)


def collect(root: Path, base: str, head: str | None) -> list[Chart]:
    """Every chart of dvc.yaml with the data of `base` and `head` (None: the workspace), read
    by DVC from git (or the workspace) without touching the work tree."""
    from dvc.exceptions import DvcException
    from dvc.render.convert import to_json
    from dvc.render.match import match_defs_renderers
    from dvc.repo import Repo

    revisions = [base] if head is None else [base, head]
    try:
        with Repo(str(root)) as repo, tempfile.TemporaryDirectory() as scratch:
            data = repo.plots.diff(revs=revisions)
            matched = match_defs_renderers(data=data, out=scratch,
                                           templates_dir=repo.plots.templates_dir)
            charts = []
            for renderer in (item.renderer for item in matched):
                if renderer.TYPE == "vega":
                    content = (to_json(renderer, False) or [{}])[0].get("content")
                    sources = [anchor.get("filename") for anchor in
                               renderer.properties.get("anchors_y_definitions", [])]
                    charts.append(Chart(renderer.name, "vega", sorted(set(filter(None, sources))),
                                        spec=finite(content) if content else None,
                                        title=str(renderer.properties.get("title") or "")))
                elif renderer.TYPE == "image":
                    pictures = {point["rev"]: Path(point["src"]).read_bytes()
                                for point in renderer.datapoints}
                    charts.append(Chart(renderer.name, "image", [renderer.name],
                                        pictures=pictures))
    except DvcException as error:
        raise LifecycleError(f"DVC could not collect the plots: {error}") from None
    return charts


def changed_charts(charts: list[Chart], base: str, head: str | None) -> list[Chart]:
    return [chart for chart in charts if chart.changed(base, head or WORKSPACE)]


def slug(name: str) -> str:
    """A file-name stem from a chart's name: lower case letters, digits and single dashes."""
    stem = re.sub(r"[^a-z0-9]+", "-", Path(name).stem.lower() if Path(name).suffix == SUFFIX
                  else name.lower()).strip("-")
    return stem[:80].rstrip("-") or "chart"


def file_names(names: list[str]) -> dict[str, str]:
    """A distinct file name for each chart name; the same names always get the same files."""
    taken: dict[str, str] = {}
    used: set[str] = set()
    for name in sorted(set(names)):
        stem, number = slug(name), 1
        candidate = f"{stem}{SUFFIX}"
        while candidate in used:
            number += 1
            candidate = f"{stem}-{number}{SUFFIX}"
        used.add(candidate)
        taken[name] = candidate
    return taken


def render(chart: Chart, base: str, head: str) -> bytes:
    """The chart as PNG bytes: the Vega-Lite spec rendered, or the two pictures side by side."""
    if chart.kind == "vega":
        extras.require("images", "drawing the report's charts (--images, or beside --output)")
        import vl_convert

        try:
            return bytes(vl_convert.vegalite_to_png(chart.spec, scale=SCALE))
        except ValueError as error:
            raise LifecycleError(f"chart {chart.name!r}: could not draw DVC's spec: "
                                 f"{str(error).splitlines()[0][:200]}") from None
    return side_by_side([(rev, chart.pictures.get(rev)) for rev in (base, head)])


def side_by_side(pictures: list[tuple[str, bytes | None]]) -> bytes:
    """One PNG with each revision's picture under its name ("(none)" where it has none)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.image
    import matplotlib.pyplot as plt

    arrays = [matplotlib.image.imread(io.BytesIO(data)) if data else None
              for _, data in pictures]
    height = max((array.shape[0] for array in arrays if array is not None), default=200)
    widths = [array.shape[1] if array is not None else 200 for array in arrays]
    dpi = 100
    figure, axes = plt.subplots(1, len(pictures), figsize=(sum(widths) / dpi,
                                                           (height + 40) / dpi),
                                gridspec_kw={"width_ratios": widths, "wspace": 0.02},
                                dpi=dpi, squeeze=False)
    figure.subplots_adjust(left=0, right=1, bottom=0, top=height / (height + 40))
    try:
        for axis, (rev, _), array in zip(axes[0], pictures, arrays, strict=True):
            axis.set_axis_off()
            axis.set_title(rev if array is not None else f"{rev}: (none)", fontsize=11)
            if array is not None:
                axis.imshow(array)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None},
                       bbox_inches="tight", pad_inches=0.05, facecolor="white")
    finally:
        plt.close(figure)
    return buffer.getvalue()


def candidate_names(plots: Any, files_under: Any) -> list[str]:
    """The chart names DVC gives the entries of dvc.yaml's `plots` list: a mapping's key, a
    file's path, each file of a folder (`files_under(folder)` lists them)."""
    names: list[str] = []
    for entry in plots if isinstance(plots, list) else []:
        if isinstance(entry, dict):
            names += [str(key) for key in entry]
        elif isinstance(entry, str):
            names += files_under(entry) if not Path(entry).suffix else [entry]
    return names
