"""`lifecycle compare`: the production model (champion) against the workspace's model
(candidate) on the same rows, and whether to promote the candidate
(lifecycle.reporting.champion). A completed comparison exits 0 whatever it recommends: it
informs a decision a person makes; errors exit 2."""

from pathlib import Path

from lifecycle import config
from lifecycle.core import files
from lifecycle.core.errors import LifecycleError
from lifecycle.reporting import champion
from lifecycle.reporting.revisions import Side, git_output, side_at

DEFAULT_OUTPUT = "reports/compare.md"


# Any error exits 2: 0 is a completed comparison whatever it recommends, and 1 is what
# `lifecycle gate` uses for a rejected model, so a script tells the three apart.
ERROR_EXIT = 2


def run(champion_rev: str | None = None, output: str = DEFAULT_OUTPUT,
        overwrite: bool = False) -> int:
    try:
        return compare(champion_rev, output, overwrite)
    except LifecycleError as error:
        error.exit_code = ERROR_EXIT
        raise


def compare(champion_rev: str | None, output: str, overwrite: bool) -> int:
    if Path(output).suffix.lower() != ".md":
        raise LifecycleError(f"--output {output}: refused: give a .md path (the JSON report "
                             f"goes beside it)")
    json_output = str(Path(output).with_suffix(".json"))
    for path in (output, json_output):
        files.check_output(path, overwrite=overwrite)
    params = config.load()
    root = Path(git_output(Path.cwd(), "rev-parse", "--show-toplevel", what="a git repository"))
    artifact = champion.model_artifact(config.read_yaml("dvc.yaml") or {})
    rev = champion_rev or champion.production_revision(root, artifact.name)
    head = git_output(root, "rev-parse", "--short", "HEAD", what="a repository with a commit")
    result = champion.compare(params, side_at(root, rev, "--champion"),
                              Side(root, None, "workspace", f"workspace (on {head})"), artifact)
    files.write_json(champion.as_data(result), json_output)
    files.write_bytes(champion.markdown(result).encode(), output)
    print(champion.terminal_text(result))
    print(f"\nlifecycle compare: wrote {output} and {json_output}")
    return 0
