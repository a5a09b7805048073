"""`lifecycle code-deps`: rewrite each stage's code dependencies in dvc.yaml from the import
graph, and code_versions.yaml from the installed library's code (`lifecycle.project.code_deps`);
`--check` changes nothing and fails when either is out of date (CI and the tests run it)."""

from lifecycle.core import code_versions, files
from lifecycle.core.errors import LifecycleError
from lifecycle.project.code_deps import DVC_FILE, VERSIONS, rewrite, stage_hashes


def run(check: bool = False) -> int:
    current = DVC_FILE.read_text()
    wanted = rewrite(current)
    hashes = stage_hashes(current)
    stale = [str(DVC_FILE)] if wanted != current else []
    if hashes and code_versions.recorded() != hashes:
        stale.append(VERSIONS)
    if not stale:
        print(f"{DVC_FILE}: every stage's code dependencies match its imports"
              + (f"; {VERSIONS} matches the installed lifecycle" if hashes else ""))
        return 0
    if check:
        raise LifecycleError(f"{' and '.join(stale)}: out of date with the stages' imports and "
                             f"the installed lifecycle; run `lifecycle code-deps` and commit "
                             f"{' and '.join(stale)}")
    files.write_bytes(wanted.encode(), DVC_FILE)
    if hashes:
        files.write_bytes(code_versions.text(hashes).encode(), code_versions.VERSIONS_FILE)
    print(f"{' and '.join(stale)}: rewritten from the stages' imports"
          + (" and the installed lifecycle" if hashes else ""))
    return 0
