"""The pull-request workflows' slow steps on this machine, cold and then warm: what the pip and
DVC caches of .github/workflows/test.yml and model-report.yml save.

    python -m benchmarks.ci_steps [--fraction F] [--work DIR]

Each round runs in a fresh copy of the committed project (`git archive HEAD`, committed again
in a new git repository, as a runner's checkout):

1. cold: a new virtual environment, `pip install -r requirements.txt` from the index and the
   library (`pip install --no-deps --no-build-isolation -e .`), then
   `dvc repro` with an empty DVC cache: every stage runs.
2. warm, as test.yml: the same install with every download served from round 1's files, and
   `dvc repro` with round 1's `.dvc/cache` restored: DVC's run cache restores the stages whose
   outputs are all cached; a stage with a `cache: false` output (a report in git) runs again,
   since DVC keeps no run cache for it.
3. warm, as model-report.yml: round 1's `.dvc/cache` restored, `dvc checkout --allow-missing`,
   then `dvc repro`: a stage whose code, params and data match dvc.lock is not run.

Each round ends with the check `.ci/run` makes: dvc.lock and reports/ as committed.

Stand-ins: pip's own HTTP cache would serve round 2's downloads, but on this machine the route
to the index answers with headers that pip does not cache, so a folder of the same files
(`pip download`) stands in for it; pip's wheel cache of what it built from source is kept
between the rounds, as setup-python keeps it. A cache restore is a local copy here; on GitHub
it is a download from the cache service, not mirrored. The tests `.ci/run` runs between
install and reproduction are left out: the caches do not change them.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.measure import load_average, machine

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = "  sample_fraction: 1.0\n"


def fresh_copy(archive: bytes, destination: Path, fraction: float) -> Path:
    """The committed project in a new git repository, with source.sample_fraction set."""
    destination.mkdir(parents=True)
    subprocess.run(["tar", "-x"], input=archive, cwd=destination, check=True)
    if fraction != 1:
        params = destination / "params.yaml"
        assert SAMPLE in params.read_text(), "params.yaml: no source.sample_fraction: 1.0"
        params.write_text(params.read_text().replace(SAMPLE, f"  sample_fraction: {fraction}\n"))
    for command in (["git", "init", "-q"], ["git", "add", "-A"],
                    ["git", "-c", "user.name=ci", "-c", "user.email=ci@localhost", "commit",
                     "-qm", "checkout"]):
        subprocess.run(command, cwd=destination, check=True)
    return destination


def timed(command: list[str], cwd: Path, env: dict) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout[-2000:]}"
                 f"\n{done.stderr[-2000:]}")
    return seconds, done.stdout + done.stderr


def add(rows: list[list[str]], row: list[str]) -> None:
    """A row of the table, also printed as it comes (a long run shows its progress)."""
    rows.append(row)
    print(f"| {' | '.join(row)} |", file=sys.stderr, flush=True)


def size(folder: Path) -> str:
    total = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
    return f"{total / 2**20:,.0f} MiB"


def environment(venv: Path, pip_cache: Path) -> dict:
    """This environment less this machine's pip settings (a runner's pip reads the index only)
    and this process's virtual environment; the copy's own environment first on PATH."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("VIRTUAL_ENV", "PYTHONPATH", "PIP_FIND_LINKS")}
    env["PIP_CONFIG_FILE"] = os.devnull  # no pip.conf: no local wheel folders or indexes
    env["PIP_CACHE_DIR"] = str(pip_cache)
    env["PATH"] = f"{venv / 'bin'}:{env['PATH']}"
    return env


def install(project: Path, work: Path, warm: bool, rows: list[list[str]]) -> dict:
    venv, downloads = project / ".venv", work / "downloads"
    env = environment(venv, work / "pip-cache")
    seconds, _ = timed([sys.executable, "-m", "venv", str(venv)], project, env)
    pip = ["pip", "--disable-pip-version-check"]
    local = ["--no-index", "--find-links", str(downloads)] if warm else []
    more, _ = timed([*pip, "install", "--quiet", *local, "-r", "requirements.txt"], project, env)
    library, _ = timed([*pip, "install", "--quiet", "--no-deps", "--no-build-isolation", "-e",
                        "."], project, env)
    more += library
    add(rows, [f"install, {'warm' if warm else 'cold'}", f"{seconds + more:.1f} s",
                 "downloads from round 1" if warm else "from the index", load_average()])
    if not warm:  # what the cache keeps after the job
        seconds, _ = timed([*pip, "download", "--quiet", "-d", str(downloads), "-r",
                            "requirements.txt"], project, env)  # setuptools is in the lock
        add(rows, ["(cache save: the same files, downloaded)", f"{seconds:.1f} s",
                     f"{size(downloads)}; built wheels {size(work / 'pip-cache')}",
                     load_average()])
    return env


def restore(work: Path, project: Path, rows: list[list[str]]) -> None:
    start = time.perf_counter()
    shutil.copytree(work / "round-1/.dvc/cache", project / ".dvc/cache", symlinks=True)
    add(rows, ["restore .dvc/cache (a local copy)", f"{time.perf_counter() - start:.1f} s",
                 size(project / ".dvc/cache"), load_average()])


def reproduce(project: Path, env: dict, label: str, rows: list[list[str]]) -> None:
    seconds, output = timed(["dvc", "repro"], project, env)
    ran = sorted(set(re.findall(r"Running stage '([\w-]+)'", output)))
    restored = output.count("is cached - skipping run")
    add(rows, [label, f"{seconds:.1f} s",
                 f"ran {', '.join(ran) or 'none'}; {restored} restored by the run cache",
                 load_average()])


def unchanged(project: Path) -> bool:
    """Whether dvc.lock and reports/ are as committed (what .ci/run checks)."""
    return subprocess.run(["git", "status", "--porcelain", "--", "dvc.lock", "reports"],
                          cwd=project, capture_output=True, text=True, check=True).stdout == ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ci_steps", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fraction", type=float, default=1.0,
                        help="source.sample_fraction (1: the full default data, as CI)")
    parser.add_argument("--work", type=Path, help="keep the copies and caches here (default: a "
                                                  "temporary folder, removed)")
    arguments = parser.parse_args(argv)
    archive = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, capture_output=True,
                             check=True).stdout
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory() as scratch:
        work = arguments.work or Path(scratch)
        cold = fresh_copy(archive, work / "round-1", arguments.fraction)
        env = install(cold, work, False, rows)
        reproduce(cold, env, "`dvc repro`, empty DVC cache", rows)

        warm = fresh_copy(archive, work / "round-2", arguments.fraction)
        env = install(warm, work, True, rows)
        restore(work, warm, rows)
        reproduce(warm, env, "`dvc repro`, DVC cache restored (test.yml)", rows)

        report = fresh_copy(archive, work / "round-3", arguments.fraction)
        restore(work, report, rows)
        seconds, _ = timed(["dvc", "checkout", "--allow-missing"], report, env)
        add(rows, ["`dvc checkout --allow-missing` (model-report.yml)", f"{seconds:.1f} s",
                     "outputs dvc.lock names, from the cache", load_average()])
        reproduce(report, env, "`dvc repro` after it", rows)
        same = [unchanged(copy) for copy in (cold, warm, report)]
    print(f"Machine: {machine()}; source.sample_fraction {arguments.fraction}.\n")
    print("| step | wall time | detail | load average |\n| --- | ---: | --- | --- |")
    for row in rows:
        print(f"| {' | '.join(row)} |")
    print(f"\ndvc.lock and reports/ as committed after rounds 1, 2, 3: {same}.")
    return 0 if all(same) or arguments.fraction != 1 else 1


if __name__ == "__main__":
    sys.exit(main())
