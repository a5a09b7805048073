"""`lifecycle report --base REV`: what a change did to the model, for a pull request's reviewer
(lifecycle.reporting.document), comparing the workspace (or `--head REV`) with a base revision:
a git revision, or the name of a DVC experiment, such as one `dvc exp pull` brought from another
machine. Printed, or written with the pictures of the changed charts beside it."""

import sys
from pathlib import Path

from lifecycle.core import files
from lifecycle.reporting import document
from lifecycle.reporting.revisions import Side, git_output, side_at


def run(base: str, head: str | None = None, output: str | None = None,
        link_root: str | None = None, overwrite: bool = False, images: str | None = None,
        image_root: str | None = None) -> int:
    if output:
        files.check_output(output, overwrite=overwrite)
    root = Path(git_output(Path.cwd(), "rev-parse", "--show-toplevel", what="a git repository"))
    sides = [side_at(root, base, "--base"),
             side_at(root, head, "--head") if head else Side(root, None, "workspace", "workspace")]
    folder = images or (document.default_images(output) if output else None)
    if folder:
        files.check_output(folder, folder=True, option="--images")
        if output:
            files.check_distinct(output=output, images=folder)
    pictures = document.pictures_for(folder, image_root, output)
    text = document.render(*sides, link_root=link_root, pictures=pictures)
    if document.write(text, pictures, output):
        print(f"lifecycle report: {len(pictures.drawn)} pictures of changed charts in "
              f"{folder}", file=sys.stderr)
    if output:
        print(f"lifecycle report: wrote {output}")
    else:
        print(text, end="")
    return 0
