"""Database URLs: ``sqlite:///FILE`` (relative) or ``sqlite:////abs/FILE``, and ``postgresql://...``.

Kept free of any driver import so the config loader can validate a URL without loading one.
"""

from __future__ import annotations

from pathlib import Path

SQLITE_PREFIX = "sqlite:///"
POSTGRES_PREFIXES = ("postgresql://", "postgres://")


def engine_of(url: str) -> str:
    """``"sqlite"`` or ``"postgresql"``; a ``ValueError`` for anything else."""
    if url.startswith(SQLITE_PREFIX):
        return "sqlite"
    if url.startswith(POSTGRES_PREFIXES):
        return "postgresql"
    raise ValueError(
        f"expected sqlite:///FILE or postgresql://user@host:port/db, got {redacted(url)!r}"
    )


def sqlite_url(path: Path | str) -> str:
    """The URL of an SQLite file (``sqlite:///:memory:`` for an in-memory database)."""
    return SQLITE_PREFIX + str(path)


def sqlite_path(url: str) -> Path:
    """The file a ``sqlite:///`` URL names (relative paths stay relative)."""
    if not url.startswith(SQLITE_PREFIX):
        raise ValueError(f"not an sqlite url: {redacted(url)!r}")
    rest = url[len(SQLITE_PREFIX) :]
    if not rest:
        raise ValueError("sqlite:/// needs a file name, e.g. sqlite:///classmentor.db")
    return Path(rest)


def normalise_url(url: str, base_dir: Path) -> str:
    """Validate ``url``; a relative SQLite file is resolved against ``base_dir`` (the config's
    folder), as ``database.path`` always was."""
    if engine_of(url) == "postgresql":
        return url
    path = sqlite_path(url)
    if str(path) == ":memory:":
        return url
    path = path.expanduser()
    return sqlite_url(path if path.is_absolute() else base_dir / path)


def redacted(url: str) -> str:
    """The URL without its password, for messages and logs."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    userinfo, _, host = rest.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in userinfo else url
