"""A batch dry run seen as the real run would see it: the files of one batch see each other's names.

`process(dry_run=True)` plans one file against the library as it is on disk. Two files of a batch can
plan onto one name that neither holds yet; the real run would find the first there when it reaches
the second. So the second is planned again with the first's name and planned tags as a `Claim`.
"""

from __future__ import annotations

from comicmaintainer.domain.plan import Tags
from comicmaintainer.library.process import Claim, Context, Result, process


def reconcile_preview(results: list[Result], ctx: Context) -> list[Result]:
    """The batch's dry-run results, in order. Files that keep their name claim it first, then each
    rename claims its new name; a file planned onto a name another file claimed is planned again:
    a duplicate of the same book, or kept apart from a different one."""
    staying = [r for r in results if r.outcome in ("processed", "unchanged") and not r.new_path]
    claims = {r.path: _claim(r) for r in staying}
    out = []
    for r in results:
        if r.outcome == "processed" and r.new_path:
            claim = claims.get(r.new_path)
            if claim is not None and claim.path != r.path:
                r = process(r.path, ctx, dry_run=True, claims=claims)
            if r.outcome == "processed":
                claims.setdefault(r.new_path or r.path, _claim(r))
        out.append(r)
    return out


def _claim(result: Result) -> Claim:
    return Claim(result.path, Tags(**result.tags_after))
