"""Configuration: one TOML file parsed once into frozen dataclasses.

The token never lives in the TOML: it comes from ``DISCORD_TOKEN`` or from a ``token_file``
(a Docker/systemd secret), and is hidden from ``repr`` so it cannot leak into logs.
"""

from __future__ import annotations

import base64
import binascii
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.sharding import MAX_SHARDS, ShardPlan, parse_shard_ids
from db.urls import normalise_url, sqlite_path, sqlite_url

DEFAULT_CONFIG_PATH = Path("config.toml")
CONFIG_ENV = "CLASSMENTOR_CONFIG"
TOKEN_ENV = "DISCORD_TOKEN"
# The dashboard's secrets, like the token: from the environment or from a file, never the TOML.
CLIENT_SECRET_ENV = "CLASSMENTOR_OAUTH_CLIENT_SECRET"
SESSION_SECRET_ENV = "CLASSMENTOR_SESSION_SECRET"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class ConfigError(Exception):
    """A configuration problem, with a message that names the offending key."""


class Secret:
    """A string that never shows itself in ``repr``/``str`` (so never in a log line)."""

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret value, for the one place that needs it (logging in to Discord)."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class DiscordConfig:
    """How the bot reaches Discord."""

    token_file: Path | None = None
    dev_guild_id: int | None = None
    # Sharded processes: how many shards the bot has, and which of them this process runs
    # (all of them when only the count is given). Unset: one unsharded connection.
    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None

    @property
    def shards(self) -> ShardPlan:
        """The shards this process runs."""
        if self.shard_count is None:
            return ShardPlan()
        if self.shard_ids is None:
            return ShardPlan.all_of(self.shard_count)
        return ShardPlan(self.shard_count, self.shard_ids)


@dataclass(frozen=True)
class DatabaseConfig:
    """Where the store lives: ``url`` is ``sqlite:///FILE`` (the default) or ``postgresql://...``.

    ``path`` is the SQLite file (the url's path); giving either one fills in the other, so older
    code and configs that only know ``path`` keep working.
    """

    path: Path = Path("classmentor.db")
    backup_dir: Path = Path("backups")
    url: str = ""

    def __post_init__(self) -> None:
        if not self.url:
            object.__setattr__(self, "url", sqlite_url(self.path))
        elif self.url.startswith("sqlite:"):
            object.__setattr__(self, "path", sqlite_path(self.url))

    @property
    def engine(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return "sqlite" if self.url.startswith("sqlite:") else "postgresql"


@dataclass(frozen=True)
class ClassDefaults:
    """Defaults a new class starts with; each class changes them with `/setup`."""

    timezone: str = "Europe/London"
    post_weekday: int = 4  # Friday
    post_time: time = time(15, 0)


@dataclass(frozen=True)
class MentoringConfig:
    """Timings and limits of the help flow."""

    offer_timeout_minutes: int = 3
    session_idle_minutes: int = 60
    availability_hours: int = 2
    mentor_session_limit: int = 1
    help_cooldown_seconds: int = 60
    recent_helper_days: int = 7
    badge_max_days: int = 14
    # After a lesson ends, quizzes recorded for its subject within this many minutes still count
    # for its prizes (0: decided when the lesson ends).
    lesson_quiz_minutes: int = 30


@dataclass(frozen=True)
class PrivacyConfig:
    """How long personal data is kept."""

    # Help-request topics, ratings' links to students (and, later, scores) older than this are
    # deleted or anonymised by a daily job.
    retention_days: int = 365
    # A class whose server removed the bot is deleted this long after, unless re-invited.
    left_server_days: int = 30


@dataclass(frozen=True)
class WebConfig:
    """The teacher dashboard and projector view (off unless ``enabled``)."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 8080
    # The address people type (behind a reverse proxy, the proxy's https address).
    public_url: str = "http://127.0.0.1:8080"
    # The Discord application's id (the OAuth2 client id); 0 = read it from the bot token.
    client_id: int = 0
    client_secret_file: Path | None = None
    session_secret_file: Path | None = None
    session_hours: int = 12

    @property
    def redirect_uri(self) -> str:
        """The OAuth2 redirect to register in the Developer Portal (OAuth2 -> Redirects)."""
        return self.public_url.rstrip("/") + "/login/callback"

    @property
    def secure_cookies(self) -> bool:
        """Cookies are sent over https only when the dashboard is served over https."""
        return self.public_url.startswith("https://")


@dataclass(frozen=True)
class WebSecrets:
    """The OAuth2 client secret and the key that encrypts session cookies."""

    client_secret: Secret
    session_key: Secret


# Where a bot's threads run (``[ops] cpu``): a free CPU it picks, a CPU number, or the OS's choice.
CpuChoice = int | Literal["auto", "off"]


@dataclass(frozen=True)
class OpsConfig:
    """The operator's HTTP endpoint (/healthz, /metrics); off unless a port is given."""

    http_port: int = 0  # 0: off
    http_host: str = "127.0.0.1"  # "0.0.0.0" in a container, where the probe comes from outside
    # The one CPU the bot's threads run on (bot/cpu.py): a free one it picks ("auto"), the
    # operator's, or wherever the OS puts them ("off").
    cpu: CpuChoice = "auto"


@dataclass(frozen=True)
class Config:
    """The whole, validated configuration."""

    discord: DiscordConfig = field(default_factory=DiscordConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    defaults: ClassDefaults = field(default_factory=ClassDefaults)
    mentoring: MentoringConfig = field(default_factory=MentoringConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    web: WebConfig = field(default_factory=WebConfig)
    ops: OpsConfig = field(default_factory=OpsConfig)
    log_level: str = "INFO"


def find_config_path(cli_path: str | None, environ: Mapping[str, str]) -> Path:
    """The config file to read: ``--config``, else ``CLASSMENTOR_CONFIG``, else ./config.toml."""
    if cli_path:
        return Path(cli_path)
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV])
    return DEFAULT_CONFIG_PATH


def load_config(path: Path) -> Config:
    """Read and validate the TOML file at ``path``; a missing file means all defaults."""
    if not path.exists():
        if path == DEFAULT_CONFIG_PATH:
            return Config()
        raise ConfigError(f"config file {path} does not exist")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    return parse_config(raw, base_dir=path.parent)


_SECTIONS = {"discord", "database", "defaults", "mentoring", "privacy", "web", "ops", "logging"}


def parse_config(raw: Mapping[str, Any], base_dir: Path = Path(".")) -> Config:
    """Validate a parsed TOML mapping into a :class:`Config` (unknown keys are errors)."""
    _no_unknown("", raw, _SECTIONS)
    discord = _section(raw, "discord")
    if "token" in discord:
        raise ConfigError(
            "discord.token: never write the token in the config file; set the DISCORD_TOKEN "
            "environment variable or point discord.token_file at a file that holds it"
        )
    _no_unknown("discord", discord, {"token_file", "dev_guild_id", "shard_count", "shard_ids"})
    token_file = _opt_str(discord, "discord.token_file", "token_file")
    dev_guild = _int(discord, "discord.dev_guild_id", "dev_guild_id", 0, minimum=0)
    shard_count, shard_ids = _shards(discord)

    database = _section(raw, "database")
    _no_unknown("database", database, {"url", "path", "backup_dir"})
    if "url" in database and "path" in database:
        raise ConfigError(
            "database: set url or path (the older spelling of a sqlite url), not both"
        )
    db_path = _str(database, "database.path", "path", "classmentor.db")
    db_url = _str(database, "database.url", "url", sqlite_url(Path(db_path)))
    try:
        db_url = normalise_url(db_url, base_dir)
    except ValueError as exc:
        raise ConfigError(f"database.url: {exc}") from None
    backup_dir = _str(database, "database.backup_dir", "backup_dir", "backups")

    defaults = _section(raw, "defaults")
    _no_unknown("defaults", defaults, {"timezone", "post_weekday", "post_time"})
    tz = _str(defaults, "defaults.timezone", "timezone", "Europe/London")
    check_timezone(tz, "defaults.timezone")
    weekday = _str(defaults, "defaults.post_weekday", "post_weekday", "friday").lower()
    if weekday not in WEEKDAYS:
        raise ConfigError(
            f"defaults.post_weekday: expected a day name like 'friday', got {weekday!r}"
        )
    post_time = parse_clock_time(
        _str(defaults, "defaults.post_time", "post_time", "15:00"), "defaults.post_time"
    )

    mentoring = _section(raw, "mentoring")
    limits = {
        "offer_timeout_minutes": (3, 1, 60),
        "session_idle_minutes": (60, 5, 24 * 60),
        "availability_hours": (2, 1, 24),
        "mentor_session_limit": (1, 1, 5),
        "help_cooldown_seconds": (60, 0, 3600),
        "recent_helper_days": (7, 0, 90),
        "badge_max_days": (14, 1, 90),
        "lesson_quiz_minutes": (30, 0, 240),
    }
    _no_unknown("mentoring", mentoring, set(limits))
    mentoring_values = {
        key: _int(mentoring, f"mentoring.{key}", key, default, minimum=lo, maximum=hi)
        for key, (default, lo, hi) in limits.items()
    }

    privacy = _section(raw, "privacy")
    _no_unknown("privacy", privacy, {"retention_days", "left_server_days"})
    privacy_config = PrivacyConfig(
        retention_days=_int(
            privacy, "privacy.retention_days", "retention_days", 365, minimum=30, maximum=3650
        ),
        left_server_days=_int(
            privacy, "privacy.left_server_days", "left_server_days", 30, minimum=1, maximum=365
        ),
    )

    web_config = _parse_web(_section(raw, "web"), base_dir)
    ops = _section(raw, "ops")
    _no_unknown("ops", ops, {"http_port", "http_host", "cpu"})
    ops_config = OpsConfig(
        http_port=_int(ops, "ops.http_port", "http_port", 0, minimum=0, maximum=65535),
        http_host=_str(ops, "ops.http_host", "http_host", "127.0.0.1").strip(),
        cpu=parse_cpu(ops.get("cpu", "auto")),
    )
    if not ops_config.http_host:
        raise ConfigError("ops.http_host: expected an address like '127.0.0.1' or '0.0.0.0'")

    logging_section = _section(raw, "logging")
    _no_unknown("logging", logging_section, {"level"})
    level = _str(logging_section, "logging.level", "level", "INFO").upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ConfigError(f"logging.level: expected DEBUG, INFO, WARNING or ERROR, got {level!r}")

    return Config(
        discord=DiscordConfig(
            token_file=_resolve(base_dir, token_file) if token_file else None,
            dev_guild_id=dev_guild or None,
            shard_count=shard_count,
            shard_ids=shard_ids,
        ),
        database=DatabaseConfig(url=db_url, backup_dir=_resolve(base_dir, backup_dir)),
        defaults=ClassDefaults(
            timezone=tz, post_weekday=WEEKDAYS.index(weekday), post_time=post_time
        ),
        mentoring=MentoringConfig(**mentoring_values),
        privacy=privacy_config,
        web=web_config,
        ops=ops_config,
        log_level=level,
    )


def _shards(discord: Mapping[str, Any]) -> tuple[int | None, tuple[int, ...] | None]:
    """``discord.shard_count`` and ``discord.shard_ids`` ("0-3", "0,2" or a list of ids)."""
    if "shard_count" not in discord:
        if "shard_ids" in discord:
            raise ConfigError(
                "discord.shard_ids: set discord.shard_count too (the bot's total number of shards)"
            )
        return None, None
    count = _int(discord, "discord.shard_count", "shard_count", 1, minimum=1, maximum=MAX_SHARDS)
    if "shard_ids" not in discord:
        return count, None
    raw = discord["shard_ids"]
    hint = f'expected shard ids like "0-3" or "0,2" within 0-{count - 1}'
    if isinstance(raw, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in raw):
        raw = ",".join(str(v) for v in raw)
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigError(f"discord.shard_ids: {hint}, got {discord['shard_ids']!r}")
    try:
        ids = parse_shard_ids(raw, count)
    except ValueError as exc:
        raise ConfigError(f"discord.shard_ids: {hint}; {exc}") from None
    return count, ids


def read_token(config: Config, environ: Mapping[str, str]) -> Secret:
    """The bot token from ``DISCORD_TOKEN`` or ``discord.token_file``; a clear error if neither."""
    value = environ.get(TOKEN_ENV, "").strip()
    if not value and config.discord.token_file is not None:
        try:
            value = config.discord.token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"discord.token_file: cannot read {config.discord.token_file} ({exc.strerror})"
            ) from None
    if not value:
        raise ConfigError(
            f"no bot token: set the {TOKEN_ENV} environment variable or discord.token_file "
            "(see README, 'Creating the Discord application')"
        )
    if any(ch.isspace() for ch in value):
        raise ConfigError(f"{TOKEN_ENV}: the token must not contain spaces or line breaks")
    return Secret(value)


def _parse_web(web: Mapping[str, Any], base_dir: Path) -> WebConfig:
    for secret in ("client_secret", "session_secret"):
        if secret in web:
            raise ConfigError(
                f"web.{secret}: never write secrets in the config file; use the "
                f"{CLIENT_SECRET_ENV if secret == 'client_secret' else SESSION_SECRET_ENV} "
                f"environment variable or web.{secret}_file"
            )
    _no_unknown(
        "web",
        web,
        {
            "enabled",
            "host",
            "port",
            "public_url",
            "client_id",
            "client_secret_file",
            "session_secret_file",
            "session_hours",
        },
    )
    enabled = web.get("enabled", False)
    if not isinstance(enabled, bool):
        raise ConfigError(f"web.enabled: expected true or false, got {type(enabled).__name__}")
    host = _str(web, "web.host", "host", "127.0.0.1").strip()
    if not host:
        raise ConfigError("web.host: expected an address to listen on, like '127.0.0.1'")
    port = _int(web, "web.port", "port", 8080, minimum=1, maximum=65535)
    public_url = _str(web, "web.public_url", "public_url", f"http://{host}:{port}").strip()
    if not public_url.startswith(("http://", "https://")) or "?" in public_url or "#" in public_url:
        raise ConfigError(
            f"web.public_url: expected an http:// or https:// address without ? or #, "
            f"got {public_url!r}"
        )
    client_secret_file = _opt_str(web, "web.client_secret_file", "client_secret_file")
    session_secret_file = _opt_str(web, "web.session_secret_file", "session_secret_file")
    return WebConfig(
        enabled=enabled,
        host=host,
        port=port,
        public_url=public_url.rstrip("/"),
        client_id=_int(web, "web.client_id", "client_id", 0, minimum=0),
        client_secret_file=_resolve(base_dir, client_secret_file) if client_secret_file else None,
        session_secret_file=(
            _resolve(base_dir, session_secret_file) if session_secret_file else None
        ),
        session_hours=_int(web, "web.session_hours", "session_hours", 12, minimum=1, maximum=168),
    )


def read_web_secrets(config: Config, environ: Mapping[str, str]) -> WebSecrets:
    """The dashboard's OAuth2 client secret and session key (environment, else files).

    The session key is a Fernet key (``python -c "from cryptography.fernet import Fernet;
    print(Fernet.generate_key().decode())"``): 32 random bytes in url-safe base64.
    """
    web = config.web
    client_secret = _read_secret(
        environ, CLIENT_SECRET_ENV, web.client_secret_file, "web.client_secret_file"
    )
    session_key = _read_secret(
        environ, SESSION_SECRET_ENV, web.session_secret_file, "web.session_secret_file"
    )
    try:
        raw = base64.urlsafe_b64decode(session_key.encode())
    except (ValueError, binascii.Error):
        raw = b""
    if len(raw) != 32:
        raise ConfigError(
            f"{SESSION_SECRET_ENV}: expected a Fernet key (32 random bytes in url-safe base64, "
            '44 characters); make one with `python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())"`'
        )
    return WebSecrets(client_secret=Secret(client_secret), session_key=Secret(session_key))


def _read_secret(environ: Mapping[str, str], env: str, file: Path | None, key: str) -> str:
    value = environ.get(env, "").strip()
    if not value and file is not None:
        try:
            value = file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{key}: cannot read {file} ({exc.strerror})") from None
    if not value:
        raise ConfigError(f"the dashboard needs a secret: set {env} or {key}")
    if any(ch.isspace() for ch in value):
        raise ConfigError(f"{env}: the secret must not contain spaces or line breaks")
    return value


def check_timezone(name: str, key: str = "timezone") -> ZoneInfo:
    """The ZoneInfo for an IANA name, or a ConfigError naming ``key``."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{key}: unknown time zone {name!r} (use an IANA name like 'Europe/London')"
        ) from None


def parse_clock_time(text: str, key: str) -> time:
    """Parse 'HH:MM' (24-hour) or raise a ConfigError naming ``key``."""
    try:
        hours, minutes = text.strip().split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise ConfigError(f"{key}: expected a time like '15:00', got {text!r}") from None


def _resolve(base_dir: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else base_dir / path


def _section(raw: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = raw.get(name, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"{name}: expected a [{name}] table")
    return value


def _no_unknown(prefix: str, table: Mapping[str, Any], known: set[str]) -> None:
    for key in table:
        if key not in known:
            where = f"{prefix}.{key}" if prefix else key
            raise ConfigError(f"{where}: unknown key (known keys: {', '.join(sorted(known))})")


def parse_cpu(value: object) -> CpuChoice:
    """``[ops] cpu``: "auto", "off" or a CPU number; :class:`ConfigError` for anything else."""
    if value == "auto":
        return "auto"
    if value == "off":
        return "off"
    if isinstance(value, str):
        raise ConfigError(f'ops.cpu: expected "auto", "off" or a CPU number, got "{value}"')
    return _int({"cpu": value}, "ops.cpu", "cpu", 0, minimum=0, maximum=4095)


def _str(table: Mapping[str, Any], where: str, key: str, default: str) -> str:
    value = table.get(key, default)
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a string, got {type(value).__name__}")
    return value


def _opt_str(table: Mapping[str, Any], where: str, key: str) -> str | None:
    if key not in table:
        return None
    return _str(table, where, key, "")


def _int(
    table: Mapping[str, Any],
    where: str,
    key: str,
    default: int,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    value = table.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(f"{where}: expected a whole number, got {type(value).__name__}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{where}: must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{where}: must be at most {maximum}, got {value}")
    return value
