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


def caller_folder(destination: str) -> Path:
    """The folder copier was started in: a relative --data is meant from there, while tasks
    run in the new project. The shell's PWD is that folder when PWD/destination is here."""
    pwd = os.environ.get("PWD")
    if pwd and (Path(pwd) / destination).resolve() == Path.cwd().resolve():
        return Path(pwd)
    sys.exit("start_project: cannot tell which folder copier was started in; give data as "
             "an absolute path")


# A SQLite URL, whatever its driver (sqlite+pysqlite:///...): its path is the rest.
SQLITE_URL = re.compile(r"sqlite(\+\w+)?:///")


def located(data: str, destination: str) -> str:
    """The data as an absolute path (or a SQL URL, a SQLite file's path made absolute)."""
    sqlite = SQLITE_URL.match(data)
    if sqlite and not data[sqlite.end():].startswith("/"):
        folder = urllib.parse.quote(caller_folder(destination).as_posix())
        return f"{sqlite.group()}{folder}/{data[sqlite.end():]}"
    if "://" in data:
        return data
    path = Path(data).expanduser()
    return str(path if path.is_absolute() else caller_folder(destination) / path)


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
    for option in ("name", "data", "query", "target", "task", "time-column", "destination"):
        parser.add_argument(f"--{option}", default="")
    args = parser.parse_args(argv)
    data = located(args.data, args.destination)
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
