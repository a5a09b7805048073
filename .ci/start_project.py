"""Finish a project that `copier copy` made from the template (copier runs this once, in the new
project): find a Python with the pinned packages, then run `lifecycle.commands.start_project`,
which adopts the data and commits the first version.

Standard library only: copier's own Python (often pipx's) may have none of the packages. When
the running Python lacks any pinned version of requirements.txt, they are installed into .venv,
as the README's first command would.
"""

import argparse
import os
import re
import subprocess
import sys
import urllib.parse
from pathlib import Path

CHECK_PINS = """
import sys
from importlib.metadata import PackageNotFoundError, version
for line in open("requirements.txt"):
    name, _, pinned = line.split("#")[0].strip().partition("==")
    try:
        if pinned and version(name) != pinned:
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
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
