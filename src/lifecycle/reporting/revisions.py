"""The two sides a report compares: a git revision (or a DVC experiment's commit), or the
workspace, and the files read from each. Metrics, gate and reports live in git, so both sides
are read from git (or the workspace) and a report works offline; the test predictions come
through DVC (cache, then remote) and may be missing."""

import io as _bytes_io
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lifecycle import config
from lifecycle.core import extras, paths
from lifecycle.core.errors import LifecycleError, ParamsError


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

        data = self.tracked_blob(paths.TEST_PREDICTIONS)
        return None if data is None else pd.read_parquet(_bytes_io.BytesIO(data))

    def tracked_blob(self, path: str) -> bytes | None:
        """A DVC-tracked file's bytes on this side: the workspace's file, or the revision's
        through DVC (cache, then remote); None where it is in neither."""
        if self.rev is None:
            file = self.root / path
            return file.read_bytes() if file.is_file() else None
        import dvc.api
        from dvc.exceptions import DvcException
        from dvc.fs import RemoteMissingDepsError

        try:
            return dvc.api.read(path, repo=str(self.root), rev=self.rev, mode="rb")
        except (DvcException, FileNotFoundError):  # in neither cache nor remote
            return None
        except (ImportError, RemoteMissingDepsError) as error:
            raise remote_error(error) from None


def remote_error(error: Exception) -> Exception:
    """DVC's error for a remote whose plugin is not installed (`s3 is supported, but requires
    'dvc-s3' to be installed`, or a RemoteMissingDepsError) as the extra that brings it; any
    other import error as it is."""
    protocol = getattr(error, "protocol", None)
    if protocol is None and "is supported, but requires" in str(error):
        protocol = str(error).split()[0]
    if protocol == "s3":
        return extras.missing("s3", "the DVC remote on S3")
    if protocol:
        return LifecycleError(f"the DVC remote ({protocol}) needs DVC's plugin for it: "
                              f"pip install \"dvc[{protocol}]\"")
    return error


def git_output(root: Path, *arguments: str, what: str) -> str:
    done = subprocess.run(["git", *arguments], cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        raise LifecycleError(f"not {what}: {done.stderr.strip() or 'git failed'}")
    return done.stdout.strip()


def side_at(root: Path, rev: str, option: str) -> Side:
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
    return git_output(root, "rev-parse", "--short", rev, what="a revision")

