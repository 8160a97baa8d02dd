"""Build a messy example library of real archives: for `make run`, the end-to-end tests and benchmarks.

Pages are real images drawn with Pillow (or, when a large archive size is asked for, a real small
image followed by incompressible filler in a JPEG comment-like tail, so benchmarks can reach 20 MB
per archive quickly). Names are the kind found in the wild: chapter markers in every spelling, years,
volumes, scan groups, zero padding; plus a duplicate, a ComicInfo with stale tags, a RAR-in-name zip
and a broken archive.
"""

from __future__ import annotations

import io
import random
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

SERIES = (
    "Re_Zero",
    "Berserk",
    "One Piece",
    "Vinland Saga",
    "Blame!",
    "Dorohedoro",
    "Yotsuba&!",
    "Mob Psycho 100",
    "Dungeon Meshi",
    "Chainsaw Man",
    "Frieren",
    "Solo Leveling",
)

# Messy name patterns; {s} is the series, {n} the chapter.
PATTERNS = (
    "{s} ch{n}",
    "{s} - Chapter {n:03d} (2021) [Scans]",
    "{s} Ch.{n}",
    "{s} ch-{n}",
    "{s} #{n:03d}",
    "{s} {n:03d}",
    "{s} v2 c{n:03d}",
    "{s} Vol. 3 Chapter {n}",
    "[Group] {s} - {n:03d} [2019]",
    "{s} - Chapter {n}",
)


@dataclass
class ExampleLibrary:
    root: Path
    files: list[Path] = field(default_factory=list)
    expected_duplicates: int = 0
    broken: list[Path] = field(default_factory=list)


def page_image(seed: int, size: tuple[int, int] = (96, 128)) -> bytes:
    """A small real JPEG, different for every seed."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    img = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(img)
    for _ in range(6):
        box = (
            sorted(rng.randrange(size[0]) for _ in range(2)),
            sorted(rng.randrange(size[1]) for _ in range(2)),
        )
        draw.rectangle(
            (box[0][0], box[1][0], box[0][1], box[1][1]), fill=tuple(rng.randrange(256) for _ in range(3))
        )
    out = io.BytesIO()
    img.save(out, "JPEG", quality=70)
    return out.getvalue()


def write_cbz(
    path: Path, *, seed: int, pages: int = 3, page_bytes: int = 0, comicinfo: bytes | None = None
) -> Path:
    """A real CBZ: `pages` JPEG pages (padded with random bytes up to `page_bytes` each when > 0)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for i in range(pages):
            data = page_image(seed * 1000 + i)
            if page_bytes > len(data):
                data += rng.randbytes(page_bytes - len(data))
            zf.writestr(f"{i + 1:03d}.jpg", data)
        if comicinfo is not None:
            zf.writestr("ComicInfo.xml", comicinfo)
    return path


def build(
    root: Path, *, series: int = 4, per_series: int = 5, pages: int = 3, page_bytes: int = 0, seed: int = 7
) -> ExampleLibrary:
    """A library of `series` folders with `per_series` messy names each, plus a few hard cases."""
    rng = random.Random(seed)
    lib = ExampleLibrary(root)
    for s_index, name in enumerate((SERIES * (series // len(SERIES) + 1))[:series]):
        folder = name if s_index < len(SERIES) else f"{name} {s_index}"
        display = folder.replace("_", ":")
        for n in range(1, per_series + 1):
            pattern = PATTERNS[(n + s_index) % len(PATTERNS)]
            file_name = pattern.format(s=display.replace(":", " "), n=n) + rng.choice(
                (".cbz", ".CBZ", ".cbz")
            )
            lib.files.append(
                write_cbz(
                    root / folder / file_name, seed=s_index * 10_000 + n, pages=pages, page_bytes=page_bytes
                )
            )
    _add_hard_cases(root, lib, pages)
    return lib


def _add_hard_cases(root: Path, lib: ExampleLibrary, pages: int) -> None:
    first = lib.files[0]
    # The same chapter twice under two spellings: one of them is a duplicate (an identical copy).
    twin = first.with_name("copy of " + first.name)
    twin.write_bytes(first.read_bytes())
    lib.files.append(twin)
    lib.expected_duplicates += 1
    stale = b"<?xml version='1.0'?><ComicInfo><Series>old name</Series><Number>0002</Number></ComicInfo>"
    lib.files.append(
        write_cbz(root / "Frieren" / "stale tags.cbz", seed=424242, pages=pages, comicinfo=stale)
    )
    lib.files.append(write_cbz(root / "Berserk" / "Berserk c099 (zip named cbr).cbr", seed=99, pages=pages))
    broken = root / "Berserk" / "Berserk ch 100 (broken download).cbz"
    broken.write_bytes(first.read_bytes()[: first.stat().st_size // 2])
    lib.files.append(broken)
    lib.broken.append(broken)


if __name__ == "__main__":  # pragma: no cover - used by `make run`
    import sys

    target = Path(sys.argv[1] if len(sys.argv) > 1 else "library")
    made = build(target)
    print(f"example library: {len(made.files)} archives in {target}")
