"""Fetch the test fixtures from versioned releases on the package index into .fixtures/.

    python tools/fetch_fixtures.py [DEST]

pip downloads the releases named in tools/fixtures.txt and checks them against the hashes there;
the archives the tests read are then copied out of them:
    DEST/rar/*.rar            rarfile 4.5 sdist, test/files/
    DEST/rar/pages-rar5.cbr   comictagger 1.6.0b9 sdist, testing/data/fake_cbr.cbr
    DEST/schemas/ComicInfo-v2.1-Draft.xsd   comicbox 5.4.0 wheel, comicbox/schemas/
Nothing is written to DEST unless every download and every member is there.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "fixtures.txt"
RAR_MEMBERS = "rarfile-4.5/test/files/"
COMIC_RAR = ("comictagger-1.6.0b9/testing/data/fake_cbr.cbr", "pages-rar5.cbr")
SCHEMA = "comicbox/schemas/ComicInfo-v2.1-Draft.xsd"


def download(into: Path) -> None:
    command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--require-hashes",
               "--dest", str(into), "-r", str(REQUIREMENTS)]  # fmt: skip
    subprocess.run(command, check=True)


def unpack(downloads: Path, out: Path) -> None:
    (out / "rar").mkdir(parents=True)
    (out / "schemas").mkdir()
    with tarfile.open(downloads / "rarfile-4.5.tar.gz") as tar:
        for member in tar.getmembers():
            name = member.name.removeprefix(RAR_MEMBERS)
            if member.isfile() and name != member.name and "/" not in name and not name.endswith(".exp"):
                (out / "rar" / name).write_bytes(_read(tar, member.name))
    with tarfile.open(downloads / "comictagger-1.6.0b9.tar.gz") as tar:
        (out / "rar" / COMIC_RAR[1]).write_bytes(_read(tar, COMIC_RAR[0]))
    with zipfile.ZipFile(next(downloads.glob("comicbox-5.4.0-*.whl"))) as whl:
        (out / "schemas" / Path(SCHEMA).name).write_bytes(whl.read(SCHEMA))


def _read(tar: tarfile.TarFile, name: str) -> bytes:
    extracted = tar.extractfile(name)
    if extracted is None:
        raise SystemExit(f"fetch_fixtures: {name} is not a file in {tar.name}")
    return extracted.read()


def main() -> None:
    dest = Path(sys.argv[1] if len(sys.argv) > 1 else HERE.parent / ".fixtures").resolve()
    with tempfile.TemporaryDirectory(dir=dest.parent) as scratch:
        downloads, out = Path(scratch) / "downloads", Path(scratch) / "out"
        download(downloads)
        unpack(downloads, out)
        shutil.rmtree(dest, ignore_errors=True)
        out.rename(dest)
    print(
        f"fixtures in {dest}: {len(list((dest / 'rar').iterdir()))} RAR archives, ComicInfo 2.1 draft schema"
    )


if __name__ == "__main__":
    main()
