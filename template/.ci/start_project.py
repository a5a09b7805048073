"""Finish a project that `copier copy` made from the template (copier runs this once, in the new
project, from the template's copy: it is not written into the project): find a Python with the
pinned packages, then run `lifecycle.commands.start_project`, which adopts the data and commits
the first version.

Standard library only: copier's own Python (often pipx's) may have none of the packages. When
the running Python lacks any pinned version of requirements.txt, the lifecycle library at its
pinned commit included, they are installed into .venv, as the README's first command would.
"""

import argparse
import os
import re
import subprocess
import sys
import urllib.parse
from pathlib import Path

# Every `name==version` of requirements.txt and the files it includes (`-r`) installed at that
# version (hash lines aside; a pin for some platforms only, `; sys_platform == ...`, is not
# checked), and the library's `name @ git+URL@commit` installed from that commit (pip records it
# in direct_url.json). A `lifecycle` imported from outside site-packages (a checkout: editable,
# or on PYTHONPATH) is a developer's choice and counts as the pin.
CHECK_PINS = """
import importlib.util, json, os, sys, sysconfig
from importlib.metadata import PackageNotFoundError, distribution, version

def library(name, url):
    found = importlib.util.find_spec("lifecycle")
    if found and not found.origin.startswith(sysconfig.get_paths()["purelib"]):
        return True
    direct = json.loads(distribution(name).read_text("direct_url.json") or "{}")
    return direct.get("vcs_info", {}).get("commit_id") == url.rpartition("@")[2]

def check(path):
    for line in open(path):
        line = line.split("#")[0].strip().rstrip("\\\\").strip()
        if line.startswith("-r "):
            check(os.path.join(os.path.dirname(path), line[3:].strip()))
        name, _, pinned = line.partition("==")
        try:
            if " @ " in line and not library(*line.split(" @ ", 1)):
                sys.exit(1)
            if pinned and ";" not in pinned and version(name) != pinned:
                sys.exit(1)
        except PackageNotFoundError:
            sys.exit(1)

check("requirements.txt")
"""


# A SQLite URL, whatever its driver (sqlite+pysqlite:///...): its path is the rest.
SQLITE_URL = re.compile(r"sqlite(\+\w+)?:///")


def located(data: str, caller: str) -> str:
    """The data as an absolute path (or a SQL URL, a SQLite file's path made absolute). A
    relative path is meant from `caller`, the folder copier was started in: this task runs in
    the new project."""
    sqlite = SQLITE_URL.match(data)
    if sqlite and not data[sqlite.end():].startswith("/"):
        folder = urllib.parse.quote(caller_folder(caller).as_posix())
        return f"{sqlite.group()}{folder}/{data[sqlite.end():]}"
    if "://" in data:
        return data
    path = Path(data).expanduser()
    return str(path if path.is_absolute() else caller_folder(caller) / path)


def caller_folder(caller: str) -> Path:
    """copier.yml renders it from copier's own working directory; never guessed from $PWD,
    which a python3 shim (pyenv, asdf) resets to the new project."""
    if not Path(caller).is_absolute():
        sys.exit("start_project: the folder copier was started in is unknown; give data as an "
                 "absolute path")
    return Path(caller)


def python_with_requirements() -> str:
    """This Python if it has every pinned package, else .venv's after installing them."""
    if subprocess.run([sys.executable, "-c", CHECK_PINS]).returncode == 0:
        return sys.executable
    print("installing the pinned packages of requirements.txt into .venv (a few minutes)",
          flush=True)
    subprocess.run([sys.executable, "-m", "venv", ".venv"], check=True)
    python = str(Path(".venv/bin/python").absolute())
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "-r", "requirements.txt"], check=True)
    return python


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for option in ("name", "data", "query", "target", "task", "time-column", "caller-folder"):
        parser.add_argument(f"--{option}", default="")
    args = parser.parse_args(argv)
    data = located(args.data, args.caller_folder)
    command = [python_with_requirements(), "-m", "lifecycle.commands.start_project",
               f"--name={args.name}", f"--data={data}", f"--query={args.query}",
               f"--target={args.target}", f"--task={args.task}",
               f"--time-column={args.time_column}"]
    # This project's own code, whatever `lifecycle` the Python has installed.
    source = str(Path("src").absolute())
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [source, os.environ.get("PYTHONPATH")]))}
    return subprocess.run(command, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
