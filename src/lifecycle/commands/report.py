"""`lifecycle report --base REV`: what a change did to the model, for a pull request's reviewer.

Compares the workspace (or `--head REV`) with a base revision (a git revision, or the name of a
DVC experiment, such as one `dvc exp pull` brought from another machine): the parameters and
contract entries that changed, every headline metric with its delta and a verdict against the
noise, the gate of both sides and any criterion that flipped, the data-quality changes and the
plots that changed, drawn as pictures (lifecycle/chart_images.py: DVC's own chart specs, both
sides in each, rendered offline to PNG files beside the Markdown, which embeds them). Metrics,
gate and reports live in git, so both sides are read from git (or the workspace) and the report
works offline. Where both sides' test predictions are available (DVC cache or remote) and cover
the same test rows, the verdicts come from a paired bootstrap; else from the two bootstrap
intervals.
"""

import io as _bytes_io
import math
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lifecycle import chart_images, config, files, metrics, paths
from lifecycle.errors import LifecycleError, ParamsError
from lifecycle.formatting import DIGITS, markdown_table, number, result

MARKER = "<!-- lifecycle-report -->"
# Missing shares that moved less than this (absolute) are not listed.
MISSING_SHARE_CHANGE = 0.01
# Headline metrics that are not task metrics, and which way is better for them.
OTHER_DIRECTIONS = {"worst_slice_gap": -1, "test_rows": 0}
# Data files above this size are named, not linked: a comment should not lead to megabytes.
LINK_LIMIT = 1_000_000


@dataclass
class Side:
    """One side of the comparison: a git revision, or the workspace when `rev` is None."""

    root: Path
    rev: str | None
    name: str = "workspace"  # the revision as the user wrote it
    label: str = ""
    _blobs: dict[str, bytes | None] = field(default_factory=dict)

    def blob(self, path: str) -> bytes | None:
        """The file's bytes on this side, or None where it does not exist."""
        if path not in self._blobs:
            self._blobs[path] = self._read(path)
        return self._blobs[path]

    def _read(self, path: str) -> bytes | None:
        if self.rev is None:
            file = self.root / path
            return file.read_bytes() if file.is_file() else None
        shown = subprocess.run(["git", "show", f"{self.rev}:{path}"], cwd=self.root,
                               capture_output=True)
        return shown.stdout if shown.returncode == 0 else None

    def data(self, path: str) -> dict | None:
        """The file as a mapping (JSON is YAML too), None where it does not exist; a file that
        is not a readable mapping is an error naming the file and the side."""
        blob = self.blob(path)
        if blob is None:
            return None
        where = f"{path} in {self.label or self.name}"
        try:
            data = config.parse_yaml(blob.decode("utf-8", errors="replace"), where)
        except ParamsError as error:  # bounded and valid YAML, or one line naming the file
            raise LifecycleError(f"{error}; fix it, or compare other revisions") from None
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise LifecycleError(f"{where}: not a mapping; fix it, or compare other revisions")
        return data

    def files_under(self, folder: str) -> list[str]:
        if self.rev is None:
            base = self.root / folder
            return sorted(str(p.relative_to(self.root)) for p in base.rglob("*") if p.is_file())
        listed = subprocess.run(["git", "ls-tree", "-r", "--name-only", self.rev, "--", folder],
                                cwd=self.root, capture_output=True, text=True)
        return listed.stdout.split()

    def predictions(self) -> Any:
        """The test predictions, from the workspace or through DVC (cache, then remote)."""
        import pandas as pd

        if self.rev is None:
            file = self.root / paths.TEST_PREDICTIONS
            return pd.read_parquet(file) if file.is_file() else None
        import dvc.api
        from dvc.exceptions import DvcException

        try:
            data = dvc.api.read(paths.TEST_PREDICTIONS, repo=str(self.root), rev=self.rev,
                                mode="rb")
        except (DvcException, FileNotFoundError):  # in neither cache nor remote: unpaired
            return None
        return pd.read_parquet(_bytes_io.BytesIO(data))


def run(base: str, head: str | None = None, output: str | None = None,
        link_root: str | None = None, overwrite: bool = False, images: str | None = None,
        image_root: str | None = None) -> int:
    if output:
        files.check_output(output, overwrite=overwrite)
    root = Path(_git(Path.cwd(), "rev-parse", "--show-toplevel", what="a git repository"))
    sides = [_side(root, base, "--base"),
             _side(root, head, "--head") if head else Side(root, None, "workspace", "workspace")]
    folder = images or (default_images(output) if output else None)
    if folder:
        files.check_output(folder, folder=True, option="--images")
        if output:
            files.check_distinct(output=output, images=folder)
    pictures = Pictures(folder, image_root if image_root else
                        _relative(folder, Path(output).parent if output else Path.cwd())
                        if folder else None)
    text = render(*sides, link_root=link_root, pictures=pictures)
    if folder and (pictures.drawn or Path(folder).exists()):
        # The Markdown too, or neither; the folder lists what it holds, for the next run.
        with files.atomic_directory(folder, recorded=True) as written:
            os.chmod(written, 0o777 & ~_umask())  # mkdtemp's 0700 would make it private
            for name, data in pictures.drawn.items():
                (written / name).write_bytes(data)
            if output:
                files.write_bytes(text.encode(), output)
        print(f"lifecycle report: {len(pictures.drawn)} pictures of changed charts in "
              f"{folder}", file=sys.stderr)
    elif output:
        files.write_bytes(text.encode(), output)
    if output:
        print(f"lifecycle report: wrote {output}")
    else:
        print(text, end="")
    return 0


def default_images(output: str) -> str:
    """The pictures' folder beside the Markdown: report.md -> report_images/."""
    path = Path(output)
    return str(path.with_name(f"{path.stem}_images"))


def render(base: Side, head: Side, link_root: str | None = None,
           pictures: "Pictures | None" = None) -> str:
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


# ---- metrics -------------------------------------------------------------------------------

@dataclass
class MetricsComparison:
    primary: str
    rows: list[dict]
    method: str


def compare_metrics(base: Side, head: Side) -> MetricsComparison:
    """Every headline metric: base, head, delta and a verdict against the noise."""
    params = head.data("params.yaml") or {}
    problem = section(params, "problem")
    task, primary = problem.get("task"), problem.get("primary_metric")
    before, after = (headline(side) for side in (base, head))
    paired, method = paired_intervals(base, head, task, params)
    unpaired = {name: (_intervals(base).get(name), _intervals(head).get(name))
                for name in after}
    rows = []
    for name in [*after, *(name for name in before if name not in after)]:
        old, new = before.get(name), after.get(name)
        direction = _direction(name, primary)
        delta = None if old is None or new is None else round(new - old, DIGITS)
        if old is None or new is None:
            verdict = "new" if old is None else "removed"
        elif delta == 0:
            verdict = "unchanged"
        elif name in paired:
            verdict = verdict_from_interval(paired[name])
        else:
            verdict = verdict_without_pairs(delta, direction, *unpaired.get(name, (None, None)))
        rows.append({"metric": name, "base": old, "head": new, "delta": delta,
                     "verdict": verdict})
    return MetricsComparison(primary, rows, method)


def headline(side: Side) -> dict[str, float]:
    """The side's headline metrics: a mapping of names to numbers, or an error naming it."""
    values = side.data(paths.EVALUATION_METRICS) or {}
    wrong = [name for name, value in values.items()
             if isinstance(value, bool) or not isinstance(value, int | float)]
    if wrong:
        raise LifecycleError(f"{paths.EVALUATION_METRICS} in {side.label}: {wrong[0]!r} is not "
                             f"a number; run `dvc repro` there, or compare other revisions")
    return values


def section(data: dict, key: str) -> dict:
    """A mapping inside `data`, or {} where it is absent or not a mapping."""
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def paired_intervals(base: Side, head: Side, task: str | None, params: dict
                     ) -> tuple[dict[str, list[float]], str]:
    """Paired-bootstrap intervals of the oriented deltas, or {} and why not."""
    unpaired = "from the two sides' bootstrap intervals"
    if task not in metrics.TASKS or section(base.data("params.yaml") or {}, "problem").get(
            "task") != task:
        return {}, f"{unpaired} (the task differs or is unknown)"
    tables = base.predictions(), head.predictions()
    missing = [side.label for side, table in zip((base, head), tables, strict=True)
               if table is None]
    if missing:
        return {}, (f"{unpaired} (no test predictions of {' and '.join(missing)} in the DVC "
                    f"cache or remote)")
    (y_base, scores_base, classes), (y_head, scores_head, _) = map(metrics.scores_from_table,
                                                                   tables)
    if len(y_base) != len(y_head) or (y_base != y_head).any():
        return {}, f"{unpaired} (the test rows differ: {len(y_base):,} and {len(y_head):,})"
    evaluation = section(params, "evaluate")
    thresholds = (_threshold(base, task), _threshold(head, task))
    resamples, seed = evaluation.get("bootstrap_resamples", 100), params.get("seed", 0)
    if not (isinstance(resamples, int) and 10 <= resamples <= 10_000 and isinstance(seed, int)
            and seed >= 0):
        return {}, f"{unpaired} (evaluate.bootstrap_resamples or seed is not usable)"
    intervals = metrics.paired_bootstrap_deltas(
        task, y_head, scores_base, scores_head, base_threshold=thresholds[0],
        head_threshold=thresholds[1], classes=classes, resamples=resamples, seed=seed)
    return intervals, (f"paired bootstrap: both models scored on the same {len(y_head):,} test "
                       f"rows, {resamples} resamples, 95% interval of the difference")


def verdict_from_interval(interval: list[float]) -> str:
    """Verdict from the interval of the oriented difference (positive: head is better)."""
    low, high = interval
    if low > 0:
        return "improved"
    if high < 0:
        return "worse"
    return "within noise"


def verdict_without_pairs(delta: float, direction: int, before: list | None,
                          after: list | None) -> str:
    """Two independent 95% intervals: a difference beyond their combined half-widths counts."""
    if delta == 0:
        return "unchanged"
    if before is None or after is None or direction == 0:
        word = "higher" if delta > 0 else "lower"
        return f"{word} (no interval)" if direction else word
    spread = math.hypot(*((high - low) / 2 for low, high in (before, after)))
    if abs(delta) <= spread:
        return "within noise"
    return "improved" if delta * direction > 0 else "worse"


def metrics_section(comparison: MetricsComparison) -> list[str]:
    rows = []
    for row in comparison.rows:
        name = f"**{row['metric']}**" if row["metric"] == comparison.primary else row["metric"]
        verdict = row["verdict"]
        verdict = f"**{verdict}**" if verdict in ("improved", "worse") else verdict
        rows.append((name, number(row["base"]), number(row["head"]),
                     number(row["delta"], sign=True), verdict))
    lines = ["## Metrics", "",
             *markdown_table(("metric", "base", "head", "delta", "verdict"), rows, "lrrr")]
    return [*lines, "", f"Verdicts: {comparison.method}.", ""]


def _intervals(side: Side) -> dict[str, list[float]]:
    return section(side.data(paths.EVALUATION_DETAILS) or {}, "intervals")


def _threshold(side: Side, task: str) -> float | None:
    if task != "binary":
        return None
    threshold = section(side.data("params.yaml") or {}, "evaluate").get("decision_threshold")
    return threshold if isinstance(threshold, float) and 0 < threshold < 1 else None


def _direction(name: str, primary: str | None) -> int:
    """+1 when larger is better, -1 when smaller is, 0 when neither."""
    if name in OTHER_DIRECTIONS:
        return OTHER_DIRECTIONS[name]
    if name.startswith("cv_") and name.endswith("_std"):
        return -1
    if name.startswith("cv_") and name.endswith("_mean"):
        name = name.removeprefix("cv_").removesuffix("_mean")
    return -1 if name in metrics.LOWER_IS_BETTER else 1


# ---- summary, params, gate -----------------------------------------------------------------

def summary_lines(comparison: MetricsComparison, gates: tuple[dict, dict]) -> list[str]:
    verdicts = [gate.get("verdict", "unknown") for gate in gates]
    lines = [f"**Gate: {verdicts[0]} → {verdicts[1]}**"]
    primary = next((row for row in comparison.rows if row["metric"] == comparison.primary), None)
    if primary is not None:
        lines.append(f"**{primary['metric']}: {number(primary['base'])} → "
                     f"{number(primary['head'])} ({number(primary['delta'], sign=True)}), "
                     f"{primary['verdict']}**")
    return [" · ".join(lines), ""]


def params_section(base: Side, head: Side) -> list[str]:
    changes = []
    for label, path in (("params.yaml", "params.yaml"), ("data contract", paths.CONTRACT)):
        before, after = flatten(base.data(path) or {}), flatten(head.data(path) or {})
        changes += [(label, key, before.get(key, "(absent)"), after.get(key, "(absent)"))
                    for key in sorted(before.keys() | after.keys())
                    if before.get(key, "(absent)") != after.get(key, "(absent)")]
    if not changes:
        return ["## Parameters", "", "No parameter or data-contract entry changed.", ""]
    lines = ["## Parameters that changed", "",
             *markdown_table(("file", "key", "base", "head"),
                             [(label, f"`{key}`", _value(old), _value(new))
                              for label, key, old, new in changes])]
    return [*lines, ""]


def gate_section(before: dict, after: dict) -> list[str]:
    old = {row["criterion"]: row for row in before.get("criteria", [])}
    rows, flipped = [], []
    for row in after.get("criteria", []):
        previous = old.get(row["criterion"], {})
        outcome = result(row.get("passed"))
        if previous and previous.get("passed") != row.get("passed"):
            outcome = f"**{result(previous.get('passed'))} → {outcome}**"
            flipped.append(row["criterion"])
        threshold = ("(not judged)" if row["threshold"] is None
                     else f"{row['comparison']} {number(row['threshold'])}")
        rows.append((row["criterion"], threshold, number(previous.get("value")),
                     number(row["value"]), outcome))
    flips = (f"Criteria that flipped: {', '.join(flipped)}." if flipped
             else "No criterion changed its result.")
    return ["## Gate", "", f"Base: {before.get('verdict', 'unknown')}. "
            f"Head: {after.get('verdict', 'unknown')}.", "",
            *markdown_table(("criterion", "threshold", "base", "head", "result"), rows, "llrr"),
            "", flips, ""]


# ---- data quality and plots ----------------------------------------------------------------

def data_quality_section(before: dict, after: dict) -> list[str]:
    rows = []
    for key in ("rows_in", "rows_out"):
        rows.append((key, before.get(key), after.get(key)))
    for reason in sorted({**before.get("rows_dropped", {}), **after.get("rows_dropped", {})}):
        rows.append((f"rows dropped: {reason}", before.get("rows_dropped", {}).get(reason, 0),
                     after.get("rows_dropped", {}).get(reason, 0)))
    for split in sorted({**before.get("splits", {}), **after.get("splits", {})}):
        rows.append((f"{split} rows", before.get("splits", {}).get(split, {}).get("rows"),
                     after.get("splits", {}).get(split, {}).get("rows")))
    rows.append(("contract rule failures", len(before.get("validation", [])),
                 len(after.get("validation", []))))
    old_columns, new_columns = before.get("columns", {}), after.get("columns", {})
    notes = [f"column `{name}` added ({new_columns[name].get('type')}, "
             f"{new_columns[name].get('role')})" for name in new_columns if name not in old_columns]
    notes += [f"column `{name}` removed" for name in old_columns if name not in new_columns]
    for name in sorted(old_columns.keys() & new_columns.keys()):
        old, new = old_columns[name], new_columns[name]
        for key in ("type", "role"):
            if old.get(key) != new.get(key):
                notes.append(f"column `{name}`: {key} {old.get(key)} → {new.get(key)}")
        shares = old.get("missing_share", 0), new.get("missing_share", 0)
        if abs(shares[1] - shares[0]) >= MISSING_SHARE_CHANGE:
            notes.append(f"column `{name}`: missing share {shares[0]:.1%} → {shares[1]:.1%}")
    changed = [row for row in rows if row[1] != row[2]]
    lines = ["## Data quality", ""]
    if not changed and not notes:
        return [*lines, f"Unchanged: {after.get('rows_out', 0):,} rows after cleaning, same "
                        f"schema, no missing share moved by {MISSING_SHARE_CHANGE:.0%} or more.",
                ""]
    if changed:
        lines += markdown_table(("count", "base", "head"),
                                [(name, number(old), number(new)) for name, old, new in changed],
                                "lrr")
        lines.append("")
    lines += [f"- {note}" for note in notes]
    return [*lines, ""] if notes else lines


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
    charts = chart_images.collect(base.root, base.name, head.name if head.rev else None)
    changed = chart_images.changed_charts(charts, base.name, head.name)
    unchanged = [chart.name for chart in charts if not any(chart is c for c in changed)]
    # DVC's names are dvc.yaml's: the same files as chart_names gives.
    names = chart_images.file_names([*names, *(chart.name for chart in charts)])
    revisions = " ".join(side.name for side in (base, head) if side.rev)
    if not changed:
        return [*lines, f"No chart changed (`dvc plots diff {revisions}` draws them).", ""]
    if pictures.folder:
        for chart in changed:
            pictures.drawn[names[chart.name]] = chart_images.render(chart, base.name, head.name)
        lines += [f"{len(changed)} of {len(charts)} charts changed. Each picture shows base "
                  f"(`{base.name}`) and head (`{head.name}`) together, drawn offline from "
                  f"DVC's own chart specs as `dvc plots diff {revisions}` draws them.", ""]
    else:
        lines += [f"{len(changed)} of {len(charts)} charts changed; `dvc plots diff "
                  f"{revisions}` draws base and head together (`--output` or `--images` "
                  f"draws them here).", ""]
    for chart in changed:
        lines += chart_lines(chart, base, head, names[chart.name], pictures, link_root)
    if unchanged:
        lines += [f"Unchanged: {', '.join(unchanged)}.", ""]
    return lines


def chart_lines(chart: "chart_images.Chart", base: Side, head: Side, file: str,
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
        names += chart_images.candidate_names((side.data("dvc.yaml") or {}).get("plots"),
                                              side.files_under)
    return chart_images.file_names(names)


# ---- helpers -------------------------------------------------------------------------------

def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(data, dict):
        return {prefix: data} if prefix else {}
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        flat.update(flatten(value, name) if isinstance(value, dict) and value else
                    {name: value})
    return flat


def _git(root: Path, *arguments: str, what: str) -> str:
    done = subprocess.run(["git", *arguments], cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        raise LifecycleError(f"not {what}: {done.stderr.strip() or 'git failed'}")
    return done.stdout.strip()


def _side(root: Path, rev: str, option: str) -> Side:
    commit = _commit(root, rev, option)
    return Side(root, commit, rev, f"{rev} ({_short(root, commit)})")


def _commit(root: Path, rev: str, option: str) -> str:
    """The commit of a git revision, or else of a DVC experiment's name (as `dvc exp show`
    names it: experiments live under refs/exps/, which git's revision syntax does not reach)."""
    done = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
                          cwd=root, capture_output=True, text=True)
    if done.returncode == 0:
        return done.stdout.strip()
    commit = _experiment(root, rev, option)
    if commit is None:
        raise ParamsError(f"{option} {rev!r}: not a commit, branch or tag of this repository, "
                          f"nor one of its DVC experiments (`dvc exp pull` fetches pushed ones)")
    return commit


def _experiment(root: Path, name: str, option: str) -> str | None:
    """The commit of the experiment called `name`, None when none is; resolved by DVC's own
    rule (the only one of that name, else the one based on HEAD), so the report compares what
    `dvc exp show` and `dvc plots diff` call by that name."""
    if name.startswith("refs/"):  # a full ref git did not find
        return None
    from dvc.repo.experiments.utils import AmbiguousExpRefInfo, resolve_name
    from scmrepo.git import Git

    with Git(str(root)) as scm:
        try:
            found = resolve_name(scm, name).get(name)
        except AmbiguousExpRefInfo:
            raise ParamsError(f"{option} {name!r}: several experiments of other baselines have "
                              f"this name; give its commit, as `dvc exp show` lists it") from None
        return scm.get_ref(str(found)) if found else None


def _short(root: Path, rev: str) -> str:
    return _git(root, "rev-parse", "--short", rev, what="a revision")


def _size(count: int) -> str:
    return f"{count / 1e6:.1f} MB" if count >= 1e6 else f"{max(1, round(count / 1e3))} KB"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _relative(folder: str, start: Path) -> str:
    """The pictures' folder as the Markdown reaches it from where the Markdown is."""
    return os.path.relpath(Path(folder).resolve(), start.resolve()).replace(os.sep, "/")


def _value(value: Any) -> str:
    return f"`{value}`" if value != "(absent)" else value
