"""What a change did to the model, for a pull request's reviewer: one Markdown document comparing
two sides (revisions.py), with the parameters and contract entries that changed, every headline
metric with its delta and a verdict against the noise, the gate of both sides and any criterion
that flipped, the data-quality changes (comparison.py) and the plots that changed, drawn as
pictures (plots.py and charts.py: DVC's own chart specs, both sides in each, rendered offline to
PNG files beside the Markdown, which embeds them).
"""

import os
from pathlib import Path

from lifecycle.core import files, paths
from lifecycle.core.errors import LifecycleError
from lifecycle.reporting.comparison import (
    compare_metrics,
    data_quality_section,
    gate_section,
    metrics_section,
    params_section,
    summary_lines,
)
from lifecycle.reporting.plots import Pictures, plots_section
from lifecycle.reporting.revisions import Side

MARKER = "<!-- lifecycle-report -->"


def render(base: Side, head: Side, link_root: str | None = None,
           pictures: Pictures | None = None) -> str:
    for side in (base, head):
        if side.data(paths.EVALUATION_METRICS) is None:
            where = "the workspace" if side.rev is None else side.label
            raise LifecycleError(f"{paths.EVALUATION_METRICS} not found in {where}; run "
                                 f"`dvc repro` (and commit reports/) first")
    comparison = compare_metrics(base, head)
    gates = base.data(paths.GATE) or {}, head.data(paths.GATE) or {}
    lines = [MARKER, f"# Model report: {head.label} against {base.label}", ""]
    lines += summary_lines(comparison, gates)
    lines += params_section(base, head)
    lines += metrics_section(comparison)
    lines += gate_section(*gates)
    lines += data_quality_section(base.data(paths.DATA_REPORT) or {},
                                  head.data(paths.DATA_REPORT) or {})
    lines += plots_section(base, head, link_root, pictures or Pictures())
    return "\n".join(lines).rstrip() + "\n"


def default_images(output: str) -> str:
    """The pictures' folder beside the Markdown: report.md -> report_images/."""
    path = Path(output)
    return str(path.with_name(f"{path.stem}_images"))


def pictures_for(folder: str | None, image_root: str | None, output: str | None) -> Pictures:
    """Where the pictures go (none without a folder) and how the Markdown names them: under
    `image_root`, else by their folder's path from the Markdown (or from here when printing)."""
    return Pictures(folder, image_root if image_root else
                    _relative(folder, Path(output).parent if output else Path.cwd())
                    if folder else None)


def write(text: str, pictures: Pictures, output: str | None) -> bool:
    """The Markdown into `output` (if any) and the pictures into their folder, atomically
    together; True when the folder was written."""
    folder = pictures.folder
    if folder and (pictures.drawn or Path(folder).exists()):
        # The Markdown too, or neither; the folder lists what it holds, for the next run.
        with files.atomic_directory(folder, recorded=True) as written:
            os.chmod(written, 0o777 & ~_umask())  # mkdtemp's 0700 would make it private
            for name, data in pictures.drawn.items():
                (written / name).write_bytes(data)
            if output:
                files.write_bytes(text.encode(), output)
        return True
    if output:
        files.write_bytes(text.encode(), output)
    return False


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _relative(folder: str, start: Path) -> str:
    """The pictures' folder as the Markdown reaches it from where the Markdown is."""
    return os.path.relpath(Path(folder).resolve(), start.resolve()).replace(os.sep, "/")

