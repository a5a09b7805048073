"""Build .dvc/plots_page.html: the page `dvc plots show` and `dvc plots diff` fill, with vega,
vega-lite and vega-embed inlined, so every chart draws with no network.

The scripts come from the npm registry at the versions DVC's own page loads from a CDN, each
checked against its published sha512 before use; the same inputs give the same bytes.
`python .ci/plots_page.py --check` fails when the committed page differs (CI runs it).
"""

import base64
import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PAGE = Path(__file__).resolve().parent.parent / ".dvc/plots_page.html"
# package, version, script inside the package, sha512 of the package tarball (npm "integrity")
SCRIPTS = [
    ("vega", "5.20.2", "package/build/vega.min.js",
     "qmH7aD9GGPpssVdxL1xgcdxTbQzyRUeRR16Os385ymvQhiwCYQNA6+eXUPAZDTVLfk0RXu6Jzj6kUE5jQ80EVw=="),
    ("vega-lite", "5.2.0", "package/build/vega-lite.min.js",
     "Yxcg8MvYfxHcG6BbkaKT0oVCIMIcE19UvqIsEwBmyd/7h2nzW7oRnID81T8UrY7hpDrIr6wa2JADOT2dhGNErw=="),
    ("vega-embed", "6.18.2", "package/build/vega-embed.min.js",
     "wcDyQPE4J5aiCDc3/suH5RQDvrKkjuLkhzUcbOLwEkNF8/+pp17tS0JghzEvAPNRg+5aG1/N2ydixq8Lk3dOlg=="),
]
HEAD = """<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>DVC plots</title>
<style>
body { font-family: sans-serif; margin: 16px; }
table { border-spacing: 15px; }
</style>
"""
# No {scripts} placeholder: DVC would put its CDN <script> tags there.
TAIL = """</head>
<body>
{plot_divs}
</body>
</html>
"""


def script(package: str, version: str, member: str, integrity: str, folder: Path) -> str:
    subprocess.run(["npm", "pack", f"{package}@{version}", "--silent"], cwd=folder, check=True,
                   capture_output=True)
    tarball = folder / f"{package}-{version}.tgz"
    digest = base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
    if digest != integrity:
        sys.exit(f"{tarball.name}: sha512 {digest} is not the pinned {integrity}")
    with tarfile.open(tarball) as archive:
        text = archive.extractfile(member).read().decode()
    if "</script" in text:
        sys.exit(f"{package}: the script holds '</script' and cannot be inlined")
    return f"<!-- {package} {version} -->\n<script>\n{text.strip()}\n</script>\n"


def build() -> str:
    with tempfile.TemporaryDirectory() as folder:
        return HEAD + "".join(script(*entry, Path(folder)) for entry in SCRIPTS) + TAIL


def main() -> int:
    page = build()
    if "--check" in sys.argv[1:]:
        if not PAGE.is_file() or PAGE.read_text() != page:
            print(f"{PAGE.name} differs from its build; run `python .ci/plots_page.py`",
                  file=sys.stderr)
            return 1
        print(f"{PAGE.name} matches its build")
        return 0
    PAGE.write_text(page)
    print(f"wrote {PAGE} ({len(page.encode()):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
