"""Settings: environment variables say where things live, ``config.json`` holds what a person may edit.

Load order: defaults, then environment variables (``WATCHED_DIR``, ``CONFIG_DIR`` …), then the
editable keys from ``CONFIG_DIR/config.json``. Every value is checked here, once, so the rest of the
program can trust a ``Settings`` object. Any bad value raises ``ConfigError`` whose message is one
plain line naming the key and the value.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from comicmaintainer import integration_settings as integ
from comicmaintainer.config_values import (  # re-exported: callers know them as config's
    ConfigError,
    KeySpec,
    coerce,
    show,
)
from comicmaintainer.domain.naming import DEFAULT_TEMPLATE, NamingRules, TemplateError, validate_template
from comicmaintainer.domain.templates import (
    DEFAULT_PART_TEMPLATE,
    DEFAULT_RANGE_TEMPLATE,
    DEFAULT_SPECIAL_TEMPLATE,
    DEFAULT_TITLE_TEMPLATE,
    DEFAULT_VOLUME_TEMPLATE,
    SETTING_OF_KIND,
    validate_title_template,
)

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB
DEFAULT_CONFIG_DIR = "/Config"


@dataclass(frozen=True)
class Settings:
    watched_dir: Path
    duplicate_dir: Path | None
    config_dir: Path
    max_workers: int = 4
    log_max_bytes: int = 5 * MIB
    debug: bool = False
    filename_format: str = DEFAULT_TEMPLATE
    issue_padding: int = 4
    watcher_enabled: bool = True
    watcher_polling: bool = False
    polling_interval: float = 10.0
    quiet_period: float = 5.0
    convert_cbr_to_cbz: bool = True
    job_retention_days: int = 7
    # Reader servers and notifications (integration_settings.py has their shapes).
    reader_servers: tuple[dict[str, Any], ...] = ()
    reader_debounce: float = 30.0
    notify_urls: tuple[str, ...] = ()
    notify_events: dict[str, bool] = dataclasses.field(default_factory=lambda: dict(integ.NOTIFY_EVENTS))
    notify_group_seconds: float = 60.0
    # One template per kind of book (the chapter's is filename_format), see domain/templates.py.
    volume_format: str = DEFAULT_VOLUME_TEMPLATE
    range_format: str = DEFAULT_RANGE_TEMPLATE
    part_format: str = DEFAULT_PART_TEMPLATE
    special_format: str = DEFAULT_SPECIAL_TEMPLATE
    title_format: str = DEFAULT_TITLE_TEMPLATE
    volume_padding: int = 2
    number_volumes: bool = False
    # Series metadata from online sources (metadata/; docs/OPERATIONS.md "Series metadata").
    metadata_overwrite: bool = False
    metadata_auto_match: bool = False
    metadata_threshold: float = 90.0
    metadata_cache_days: float = 30.0
    metadata_kind: str = "manga"
    metadata_manga_order: str = "anilist,mangadex,mangaupdates"
    metadata_comics_order: str = "metron,comicvine"
    anilist_enabled: bool = True
    anilist_url: str = "https://graphql.anilist.co"
    anilist_per_minute: float = 30.0
    mangadex_enabled: bool = True
    mangadex_url: str = "https://api.mangadex.org"
    mangadex_per_minute: float = 240.0
    mangaupdates_enabled: bool = True
    mangaupdates_url: str = "https://api.mangaupdates.com/v1"
    mangaupdates_per_minute: float = 30.0
    metron_enabled: bool = False
    metron_url: str = "https://metron.cloud/api"
    metron_per_minute: float = 20.0
    metron_username: str = ""
    metron_password: str = ""
    comicvine_enabled: bool = False
    comicvine_url: str = "https://comicvine.gamespot.com/api"
    comicvine_per_minute: float = 3.0
    comicvine_api_key: str = ""

    @property
    def db_path(self) -> Path:
        return self.config_dir / "store" / "comicmaintainer.db"

    @property
    def presence_lock(self) -> Path:
        """Held (shared) by every process working on the library: see ``library.locks.LibraryPresence``."""
        return self.config_dir / "store" / "library.lock"

    @property
    def log_path(self) -> Path:
        return self.config_dir / "Log" / "ComicMaintainer.log"

    @property
    def config_json(self) -> Path:
        return self.config_dir / "config.json"

    @property
    def journal_dir(self) -> Path:
        return self.config_dir / "journal"

    @property
    def thumbs_dir(self) -> Path:
        return self.config_dir / "cache" / "thumbs"

    @property
    def naming(self) -> NamingRules:
        return NamingRules(
            template=self.filename_format,
            padding=self.issue_padding,
            volume_template=self.volume_format,
            range_template=self.range_format,
            part_template=self.part_format,
            special_template=self.special_format,
            volume_padding=self.volume_padding,
            title_template=self.title_format,
            number_volumes=self.number_volumes,
        )


EDITABLE_KEYS: Mapping[str, KeySpec] = MappingProxyType(
    {
        "filename_format": KeySpec(str),
        "issue_padding": KeySpec(int, 0, 10),
        "watcher_enabled": KeySpec(bool),
        "watcher_polling": KeySpec(bool),
        "polling_interval": KeySpec(float, 1, 3600),
        "quiet_period": KeySpec(float, 0, 3600),
        "log_max_bytes": KeySpec(int, 64 * KIB, GIB),
        "convert_cbr_to_cbz": KeySpec(bool),
        "job_retention_days": KeySpec(int, 0, 3650),
        "reader_servers": KeySpec(list, check=integ.check_servers),
        "reader_debounce": KeySpec(float, 0, 3600),
        "notify_urls": KeySpec(list, check=integ.check_urls),
        "notify_events": KeySpec(dict, check=integ.check_events),
        "notify_group_seconds": KeySpec(float, 0, 3600),
        "volume_format": KeySpec(str),
        "range_format": KeySpec(str),
        "part_format": KeySpec(str),
        "special_format": KeySpec(str),
        "title_format": KeySpec(str),
        "volume_padding": KeySpec(int, 0, 10),
        "number_volumes": KeySpec(bool),
    }
)

METADATA_SOURCES = ("anilist", "mangadex", "mangaupdates", "metron", "comicvine")
# The most each source publishes that it accepts, per minute: a setting may go up to it, never over.
PUBLISHED_PER_MINUTE: Mapping[str, float] = MappingProxyType(
    {"anilist": 90, "mangadex": 300, "mangaupdates": 60, "metron": 30, "comicvine": 200 / 60}
)
SECRET_KEYS = frozenset({"metron_username", "metron_password", "comicvine_api_key"})
# Editable like EDITABLE_KEYS (config.json), but through /api/metadata/settings, which never shows secrets.
METADATA_KEYS: Mapping[str, KeySpec] = MappingProxyType(
    {
        "metadata_overwrite": KeySpec(bool),
        "metadata_auto_match": KeySpec(bool),
        "metadata_threshold": KeySpec(float, 50, 100),
        "metadata_cache_days": KeySpec(float, 0, 3650),
        "metadata_kind": KeySpec(str),
        "metadata_manga_order": KeySpec(str),
        "metadata_comics_order": KeySpec(str),
        **{f"{name}_enabled": KeySpec(bool) for name in METADATA_SOURCES},
        **{f"{name}_url": KeySpec(str) for name in METADATA_SOURCES},
        **{f"{name}_per_minute": KeySpec(float, 0.1, limit) for name, limit in PUBLISHED_PER_MINUTE.items()},
        **{name: KeySpec(str) for name in sorted(SECRET_KEYS)},
    }
)
_CONFIG_KEYS: Mapping[str, KeySpec] = MappingProxyType({**EDITABLE_KEYS, **METADATA_KEYS})

# Settings that only the environment sets (they matter before the UI exists), keyed by variable name.
_ENV_KEYS: Mapping[str, tuple[str, KeySpec]] = MappingProxyType(
    {
        "MAX_WORKERS": ("max_workers", KeySpec(int, 1, 64)),
        "LOG_MAX_BYTES": ("log_max_bytes", EDITABLE_KEYS["log_max_bytes"]),
        "DEBUG_MODE": ("debug", KeySpec(bool)),
        "WATCHER_POLLING": ("watcher_polling", EDITABLE_KEYS["watcher_polling"]),
        "WATCHER_POLLING_INTERVAL": ("polling_interval", EDITABLE_KEYS["polling_interval"]),
        # Secrets may come from the environment (a container's secrets) instead of config.json.
        "COMICVINE_API_KEY": ("comicvine_api_key", KeySpec(str)),
        "METRON_USERNAME": ("metron_username", KeySpec(str)),
        "METRON_PASSWORD": ("metron_password", KeySpec(str)),
    }
)


def load_settings(environ: Mapping[str, str] = os.environ) -> Settings:
    """Build settings from ``environ`` and ``config.json``; create the config folders if missing."""
    watched = _watched_dir(environ)
    duplicate = environ.get("DUPLICATE_DIR", "").strip()
    config_dir = Path(environ.get("CONFIG_DIR", "").strip() or DEFAULT_CONFIG_DIR)
    values: dict[str, Any] = {}
    for var, (field, spec) in _ENV_KEYS.items():
        raw = environ.get(var, "").strip()
        if raw:
            values[field] = coerce(var, spec, raw)
    settings = Settings(
        watched_dir=watched,
        duplicate_dir=Path(duplicate) if duplicate else None,
        config_dir=config_dir,
        **values,
    )
    _make_folders(settings)
    stored = _read_config_json(settings.config_json)
    return dataclasses.replace(settings, **_validate_editable(stored, where="config.json: "))


def save_config(settings: Settings, **changes: object) -> Settings:
    """Check ``changes`` like ``load_settings`` does, merge them into ``config.json`` atomically."""
    checked = _validate_editable(changes, where="")
    stored = _read_config_json(settings.config_json)
    stored.update(checked)
    text = json.dumps(stored, indent=2, sort_keys=True) + "\n"
    settings.config_dir.mkdir(parents=True, exist_ok=True)
    try:
        _atomic_write_text(settings.config_json, text)
    except OSError as exc:
        raise ConfigError(f"cannot write {settings.config_json}: {exc.strerror or exc}") from None
    return dataclasses.replace(settings, **checked)


def restart_required(
    running: Settings, saved: Settings, keys: Mapping[str, KeySpec] = EDITABLE_KEYS
) -> list[str]:
    """Editable settings saved with a new value that the running service takes only at its next start."""
    return sorted(
        key for key, spec in keys.items() if not spec.live and getattr(running, key) != getattr(saved, key)
    )


def validate_startup(settings: Settings, port: int) -> list[str]:
    """Problems that stop the service from starting, one plain line each; empty when all is well."""
    problems = []
    if not 1 <= port <= 65535:
        problems.append(f"WEB_PORT {port} is out of range; use 1 to 65535")
    folders = [("WATCHED_DIR", settings.watched_dir, os.R_OK | os.W_OK | os.X_OK)]
    if settings.duplicate_dir is not None:
        folders.append(("DUPLICATE_DIR", settings.duplicate_dir, os.W_OK | os.X_OK))
    folders.append(("CONFIG_DIR", settings.config_dir, os.R_OK | os.W_OK | os.X_OK))
    for name, folder, needed in folders:
        problem = _folder_problem(folder, needed)
        if problem:
            problems.append(f"{name} {folder} {problem} (running as uid {os.getuid()}, gid {os.getgid()})")
    return problems


def _folder_problem(folder: Path, needed: int) -> str | None:
    if not folder.exists():
        return "does not exist"
    if not folder.is_dir():
        return "is not a folder"
    if needed & os.R_OK and not os.access(folder, os.R_OK | os.X_OK):
        return "is not readable"
    if needed & os.W_OK and not os.access(folder, os.W_OK | os.X_OK):
        return "is not writable"
    return None


def _watched_dir(environ: Mapping[str, str]) -> Path:
    raw = environ.get("WATCHED_DIR", "").strip()
    if not raw:
        raise ConfigError("WATCHED_DIR is not set; point it at your comic library")
    path = Path(raw)
    if not path.exists():
        raise ConfigError(f"WATCHED_DIR {raw} does not exist")
    if not path.is_dir():
        raise ConfigError(f"WATCHED_DIR {raw} is not a folder")
    return path


def _make_folders(settings: Settings) -> None:
    for folder in (settings.config_dir, settings.db_path.parent, settings.log_path.parent):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = exc.strerror or exc
            raise ConfigError(f"CONFIG_DIR folder {folder} cannot be created: {reason}") from None


def _read_config_json(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a JSON object, got {type(data).__name__}")
    return data


def _validate_editable(values: Mapping[str, object], *, where: str) -> dict[str, Any]:
    """Coerce and check each editable value; ``where`` prefixes messages (e.g. ``config.json: ``)."""
    checked: dict[str, Any] = {}
    for key, raw in values.items():
        spec = _CONFIG_KEYS.get(key)
        if spec is None:
            allowed = ", ".join(sorted(EDITABLE_KEYS))
            raise ConfigError(f"{where}unknown setting {show(key)}; editable settings are {allowed}")
        checked[key] = coerce(f"{where}{key}", spec, raw)
    _validate_templates(checked, where)
    _check_metadata(checked, where)
    return checked


def _validate_templates(checked: Mapping[str, Any], where: str) -> None:
    """Each kind's template must hold what tells two books of that kind apart."""
    for kind, key in SETTING_OF_KIND.items():
        if key in checked:
            try:
                validate_template(checked[key], kind)
            except TemplateError as exc:
                raise ConfigError(f"{where}{key} {show(checked[key])} is refused: {exc}") from None
    if "title_format" in checked:
        try:
            validate_title_template(checked["title_format"])
        except TemplateError as exc:
            shown = show(checked["title_format"])
            raise ConfigError(f"{where}title_format {shown} is refused: {exc}") from None


def _check_metadata(checked: Mapping[str, Any], where: str) -> None:
    """Source orders name known sources; base URLs are http(s); the library kind is manga or comics."""
    for key in ("metadata_manga_order", "metadata_comics_order"):
        if key in checked:
            unknown = [n for n in checked[key].split(",") if n.strip() not in METADATA_SOURCES]
            if unknown or not checked[key].strip():
                known = ", ".join(METADATA_SOURCES)
                raise ConfigError(f"{where}{key} must list sources from {known}, got {show(checked[key])}")
    for name in METADATA_SOURCES:
        url = checked.get(f"{name}_url")
        if url is not None and not url.startswith(("http://", "https://")):
            raise ConfigError(f"{where}{name}_url must start with http:// or https://, got {show(url)}")
    if checked.get("metadata_kind", "manga") not in ("manga", "comics"):
        shown = show(checked["metadata_kind"])
        raise ConfigError(f"{where}metadata_kind must be manga or comics, got {shown}")


def _atomic_write_text(path: Path, text: str) -> None:
    """Write via a temp file in the same folder so a crash leaves the old or the new file, never half."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # makes the rename itself survive a power cut
    finally:
        os.close(dir_fd)


# The original ComicMaintainer's variables that mean nothing here, and why. Accepted, never an error,
# so a container set up for the seed starts unchanged; `serve` logs each one that is set, once.
UNNEEDED_SEED_VARIABLES: Mapping[str, str] = MappingProxyType(
    {
        "GUNICORN_WORKERS": "one process serves the page, the API and the watcher "
        "(MAX_WORKERS sets how many files are worked on at once)",
        "PROCESS_SCRIPT": "every file goes through the built-in pipeline "
        "(`comicmaintainer process` runs the same from a shell)",
    }
)


def unneeded_seed_variables(environ: Mapping[str, str]) -> list[str]:
    """One plain line for each of the seed's variables set in ``environ`` that is not needed here."""
    return [
        f"{name} is not needed: {why}"
        for name, why in UNNEEDED_SEED_VARIABLES.items()
        if environ.get(name, "").strip()
    ]
