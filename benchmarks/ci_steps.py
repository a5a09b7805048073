"""The test workflow's slow steps on this machine, cold and then warm: what the pip and DVC
caches of .github/workflows/test.yml save.

    python -m benchmarks.ci_steps [--fraction F] [--work DIR]

Each round runs in a fresh copy of the committed project (`git archive HEAD`, committed again
in a new git repository, as a runner's checkout):

- install: a new virtual environment and `pip install -r requirements.txt`, pip's cache in a
  folder of its own, which round 1 starts empty (cold) and round 2 finds as round 1 left it
  (warm), as setup-python's `cache: pip` restores it;
- restore: round 2 copies round 1's `.dvc/cache` into its copy, as actions/cache restores it;
- reproduce: `dvc repro` with that environment's DVC: everything in round 1, in round 2 only what
  DVC's cache cannot restore. Then the check `.ci/run` makes: dvc.lock and reports/ unchanged.

Not mirrored: GitHub's cache service (the download and unpacking of the saved archives; here
the restore is a local copy), the runner's own disk and network, and the tests `.ci/run` runs
between install and reproduction (the caches do not change them).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.measure import load_average, machine

ROOT = Path(__file__).resolve().parent.parent


def fresh_copy(destination: Path, fraction: float) -> Path:
    """The committed project in a new git repository, with source.sample_fraction set."""
    destination.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x"], input=archive, cwd=destination, check=True)
    if fraction != 1:
        params = destination / "params.yaml"
        text = params.read_text()
        assert "  sample_fraction: 1.0\n" in text, "params.yaml: no source.sample_fraction: 1.0"
        params.write_text(text.replace("  sample_fraction: 1.0\n",
                                       f"  sample_fraction: {fraction}\n", 1))
    for command in (["git", "init", "-q"], ["git", "add", "-A"],
                    ["git", "-c", "user.name=ci", "-c", "user.email=ci@localhost", "commit",
                     "-qm", "checkout"]):
        subprocess.run(command, cwd=destination, check=True)
    return destination


def timed(command: list[str], cwd: Path, env: dict | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout[-2000:]}"
                 f"\n{done.stderr[-2000:]}")
    return seconds, done.stdout + done.stderr


def size(folder: Path) -> str:
    total = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
    return f"{total / 2**20:,.0f} MiB"


def one_round(work: Path, number: int, fraction: float, rows: list[list[str]]) -> Path:
    """Install, restore and reproduce in a new copy; adds a table row per step."""
    project = fresh_copy(work / f"round-{number}", fraction)
    label = "cold" if number == 1 else "warm"
    pip_cache = work / "pip-cache"
    env = {**_environment(), "PIP_CACHE_DIR": str(pip_cache)}
    venv = project / ".venv"
    seconds, _ = timed([sys.executable, "-m", "venv", str(venv)], project, env)
    install, _ = timed([str(venv / "bin/pip"), "install", "--quiet", "--disable-pip-version-check",
                        "-r", "requirements.txt"], project, env)
    rows.append([f"install ({label} pip cache)", f"{seconds + install:.1f} s",
                 f"pip cache after: {size(pip_cache)}", load_average()])
    if number > 1:
        start = time.perf_counter()
        shutil.copytree(work / "round-1/.dvc/cache", project / ".dvc/cache", symlinks=True)
        rows.append(["restore .dvc/cache (local copy)", f"{time.perf_counter() - start:.1f} s",
                     size(project / ".dvc/cache"), load_average()])
    env["PATH"] = f"{venv / 'bin'}:{env['PATH']}"
    seconds, output = timed([str(venv / "bin/dvc"), "repro"], project, env)
    ran = output.count("Running stage")
    restored = output.count("is cached - skipping run")
    rows.append([f"`dvc repro` ({label} DVC cache)", f"{seconds:.1f} s",
                 f"{ran} stages run, {restored} restored from the run cache", load_average()])
    return project


def _environment() -> dict:
    """This environment, less this machine's pip settings (a runner's pip reads the index only)
    and the virtual environment of this process."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("VIRTUAL_ENV", "PYTHONPATH", "PIP_FIND_LINKS")}
    env["PIP_CONFIG_FILE"] = os.devnull  # no pip.conf: no local wheel folders or indexes
    return env


def unchanged(project: Path, reference: Path) -> bool:
    """Whether dvc.lock and reports/ are byte for byte those of the reference copy."""
    def files(root: Path) -> dict[str, bytes]:
        return {str(path.relative_to(root)): path.read_bytes()
                for path in [root / "dvc.lock", *sorted((root / "reports").rglob("*"))]
                if path.is_file()}
    return files(project) == files(reference)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ci_steps", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fraction", type=float, default=1.0,
                        help="source.sample_fraction (1: the full default data, as CI)")
    parser.add_argument("--work", type=Path, help="keep the copies and caches here (default: a "
                                                  "temporary folder, removed)")
    arguments = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        work = arguments.work or Path(scratch)
        rows: list[list[str]] = []
        cold = one_round(work, 1, arguments.fraction, rows)
        warm = one_round(work, 2, arguments.fraction, rows)
        reference = ROOT if arguments.fraction == 1 else cold
        same = unchanged(warm, reference) and unchanged(cold, reference)
    print(f"Machine: {machine()}; source.sample_fraction {arguments.fraction}.\n")
    print("| step | wall time | detail | load average |\n| --- | ---: | --- | --- |")
    for row in rows:
        print(f"| {' | '.join(row)} |")
    against = "the committed ones" if arguments.fraction == 1 else "the cold round's"
    print(f"\ndvc.lock and reports/ of both rounds: {'identical to' if same else 'DIFFER from'} "
          f"{against}.")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
