"""The report's plots section: which of dvc.yaml's charts changed between the sides, each drawn
as a picture of both sides (charts.py) where pictures are wanted, with links to its data."""

from dataclasses import dataclass, field

from lifecycle.reporting import charts
from lifecycle.reporting.revisions import Side

# Data files above this size are named, not linked: a comment should not lead to megabytes.
LINK_LIMIT = 1_000_000


@dataclass
class Pictures:
    """Where the pictures go (`folder`, None: not drawn), the prefix the Markdown gives their
    files (`root`), and, once drawn, each picture's file name and PNG bytes."""

    folder: str | None = None
    root: str | None = None
    drawn: dict[str, bytes] = field(default_factory=dict)


def plots_section(base: Side, head: Side, link_root: str | None,
                  pictures: Pictures) -> list[str]:
    names = list(chart_names(base, head))
    lines = ["## Plots", ""]
    if not names:
        return [*lines, "No chart in dvc.yaml's plots.", ""]
    collected = charts.collect(base.root, base.name, head.name if head.rev else None)
    changed = charts.changed_charts(collected, base.name, head.name)
    unchanged = [chart.name for chart in collected if not any(chart is c for c in changed)]
    # DVC's names are dvc.yaml's: the same files as chart_names gives.
    names = charts.file_names([*names, *(chart.name for chart in collected)])
    revisions = " ".join(side.name for side in (base, head) if side.rev)
    if not changed:
        return [*lines, f"No chart changed (`dvc plots diff {revisions}` draws them).", ""]
    if pictures.folder:
        for chart in changed:
            pictures.drawn[names[chart.name]] = charts.render(chart, base.name, head.name)
        lines += [f"{len(changed)} of {len(collected)} charts changed. Each picture shows base "
                  f"(`{base.name}`) and head (`{head.name}`) together, drawn offline from "
                  f"DVC's own chart specs as `dvc plots diff {revisions}` draws them.", ""]
    else:
        lines += [f"{len(changed)} of {len(collected)} charts changed; `dvc plots diff "
                  f"{revisions}` draws base and head together (`--output` or `--images` "
                  f"draws them here).", ""]
    for chart in changed:
        lines += chart_lines(chart, base, head, names[chart.name], pictures, link_root)
    if unchanged:
        lines += [f"Unchanged: {', '.join(unchanged)}.", ""]
    return lines


def chart_lines(chart: "charts.Chart", base: Side, head: Side, file: str,
                pictures: Pictures, link_root: str | None) -> list[str]:
    """A changed chart: its name, its picture where drawn, and its data files (linked when
    `link_root` is given and the file is small)."""
    sources = []
    for path in chart.sources:
        blob = head.blob(path)
        size = f" ({_size(len(blob))})" if blob is not None else " (not in head)"
        if link_root and blob is not None and len(blob) <= LINK_LIMIT:
            sources.append(f"[`{path}`]({link_root.rstrip('/')}/{path}){size}")
        else:
            sources.append(f"`{path}`{size}")
    lines = [f"### {chart.heading}", ""]
    if pictures.folder:
        target = f"{pictures.root.rstrip('/')}/{file}" if pictures.root else file
        lines += [f"![{chart.heading}: {base.name} and {head.name}]({target})", ""]
    if sources and chart.kind != "image":
        lines += [f"Data: {', '.join(sources)}.", ""]
    return lines


def chart_names(base: Side, head: Side) -> dict[str, str]:
    """Each chart name dvc.yaml's plots give on either side, and the file of its picture."""
    names: list[str] = []
    for side in (base, head):
        names += charts.candidate_names((side.data("dvc.yaml") or {}).get("plots"),
                                              side.files_under)
    return charts.file_names(names)


def _size(count: int) -> str:
    return f"{count / 1e6:.1f} MB" if count >= 1e6 else f"{max(1, round(count / 1e3))} KB"

