#!/usr/bin/env python3
"""Container entrypoint: run the service as PUID:PGID, never as root unless ALLOW_ROOT=true.

Started as root, it
1. reads PUID (default 99) and PGID (default 100) and refuses 0 unless ALLOW_ROOT=true;
2. reuses the user and group with those ids, or creates them (`comics`);
3. gives CONFIG_DIR (default /Config) to PUID:PGID — only that folder: the library and the duplicates
   folder belong to their owner and are never changed wholesale;
4. replaces itself with the command (default `comicmaintainer serve`) under `setpriv` (or `gosu`) as
   PUID:PGID with no supplementary groups and no way to regain privileges. Both exec, so the
   service keeps this process's pid: `docker stop`'s SIGTERM reaches it directly, and it stops in
   order and exits 0.
Files the service then creates in the library are owned by PUID:PGID; rewritten archives keep the
permission bits of the file they replace.

Started as any other user (`docker run --user`), it runs the command as that user, unchanged.
Every problem is one line on stderr and exit status 2.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

DEFAULT_COMMAND = ["comicmaintainer", "serve"]
DEFAULT_UID = 99
DEFAULT_GID = 100
NAME = "comics"
EXIT_REFUSED = 2


class EntrypointError(Exception):
    """One plain line explaining why the container cannot start."""


def read_ids(environ: Mapping[str, str]) -> tuple[int, int]:
    ids = []
    for name, default in (("PUID", DEFAULT_UID), ("PGID", DEFAULT_GID)):
        raw = environ.get(name, "").strip() or str(default)
        if not raw.isdigit() or int(raw) > 2**31 - 2:
            raise EntrypointError(f"{name} must be a number from 0 to {2**31 - 2}, got {raw!r}")
        ids.append(int(raw))
    return ids[0], ids[1]


def allow_root(environ: Mapping[str, str]) -> bool:
    return environ.get("ALLOW_ROOT", "").strip().lower() in ("true", "1", "yes", "on")


def ensure_group(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        name = NAME if not _group_exists(NAME) else f"{NAME}{gid}"
        _run(["groupadd", "-g", str(gid), name])
        return name


def ensure_user(uid: int, gid: int, home: Path) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        name = NAME if not _user_exists(NAME) else f"{NAME}{uid}"
        _run(
            [
                "useradd",
                "-u",
                str(uid),
                "-g",
                str(gid),
                "-M",
                "-N",
                "-d",
                str(home),
                "-s",
                "/usr/sbin/nologin",
                name,
            ]
        )
        return name


def own_config_dir(config_dir: Path, uid: int, gid: int, protected: Sequence[Path]) -> int:
    """chown CONFIG_DIR and what is inside it (not following links); returns how many entries changed."""
    config_dir = config_dir.resolve()
    for other in protected:
        other = other.resolve()
        if config_dir == Path("/") or config_dir == other or config_dir in other.parents:
            raise EntrypointError(
                f"CONFIG_DIR {config_dir} contains {other}; refusing to change the owner of a library"
            )
    config_dir.mkdir(parents=True, exist_ok=True)
    changed = _chown_if_needed(config_dir, uid, gid)
    for root, dirs, files in os.walk(config_dir):
        for name in dirs + files:
            changed += _chown_if_needed(Path(root) / name, uid, gid)
    return changed


def privilege_drop_command(uid: int, gid: int, command: Sequence[str]) -> list[str]:
    if shutil.which("setpriv"):
        return [
            "setpriv",
            f"--reuid={uid}",
            f"--regid={gid}",
            "--clear-groups",
            "--no-new-privs",
            "--",
            *command,
        ]
    if shutil.which("gosu"):
        return ["gosu", f"{uid}:{gid}", *command]
    raise EntrypointError("neither setpriv (util-linux) nor gosu is installed; cannot drop root privileges")


def prepare(environ: Mapping[str, str], command: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """The command to exec and its environment; does the user, group and CONFIG_DIR work on the way."""
    env = dict(environ)
    if os.geteuid() != 0:
        return list(command), env
    uid, gid = read_ids(environ)
    if (uid == 0 or gid == 0) and not allow_root(environ):
        raise EntrypointError("PUID/PGID 0 would run the service as root; set ALLOW_ROOT=true to allow it")
    if uid == 0:
        return list(command), env
    config_dir = Path(environ.get("CONFIG_DIR", "").strip() or "/Config")
    ensure_group(gid)
    user = ensure_user(uid, gid, config_dir)
    protected = [Path(environ[k]) for k in ("WATCHED_DIR", "DUPLICATE_DIR") if environ.get(k, "").strip()]
    own_config_dir(config_dir, uid, gid, protected)
    env.update(HOME=str(config_dir), USER=user, LOGNAME=user)
    return privilege_drop_command(uid, gid, command), env


def main(argv: Sequence[str]) -> int:
    command = list(argv[1:]) or DEFAULT_COMMAND
    try:
        final, env = prepare(os.environ, command)
    except EntrypointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    sys.stdout.flush()
    try:
        os.execvpe(final[0], final, env)  # noqa: S606 - replacing this process is the point
    except OSError as exc:
        print(f"error: cannot start {final[0]}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_REFUSED


def _chown_if_needed(path: Path, uid: int, gid: int) -> int:
    st = path.lstat()
    if (st.st_uid, st.st_gid) == (uid, gid):
        return 0
    os.lchown(path, uid, gid)
    return 1


def _group_exists(name: str) -> bool:
    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _run(args: list[str]) -> None:
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        reason = (result.stderr or result.stdout).strip().splitlines()
        raise EntrypointError(f"{args[0]} failed: {reason[-1] if reason else result.returncode}")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
