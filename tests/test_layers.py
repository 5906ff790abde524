"""The layer rules of docs/architecture.md, checked on the code rather than trusted.

- every module of ``bot``, ``cogs`` and ``db`` imports on its own, in a fresh interpreter;
- the domain, the services and ``db`` never load ``discord`` (not even indirectly);
- only ``db/`` imports SQLite (exceptions are exactly ruff's TID253 per-file ignores), and
  only ``db/`` holds SQL statements;
- no import cycles among our modules at run time, and none through the composition root
  (``bot.app``, ``bot.wiring``, ``bot.services``) even for the type checker.
"""

from __future__ import annotations

import ast
import fnmatch
import functools
import json
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "cogs", "db")
DISCORD_FREE = ("bot/domain", "bot/services", "db")
SQLITE = {"sqlite3", "aiosqlite", "asyncpg"}  # the database drivers: db/ only


def source_files() -> list[Path]:
    """Every Python file of our packages, relative to the repository root."""
    return sorted(
        path.relative_to(ROOT) for package in PACKAGES for path in (ROOT / package).rglob("*.py")
    )


def module_name(path: Path) -> str:
    """``bot/services/__init__.py`` -> ``bot.services``; ``db/meta.py`` -> ``db.meta``."""
    parts = list(path.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in source_files()}


# Reads (unmarshals, or compiles where bytecode is not written: PYTHONDONTWRITEBYTECODE) each
# module's code once per interpreter: the checks import our modules again and again, and
# loading their code every time was a third of the cost. The code is the same, so each import
# still runs from scratch.
COMPILE_ONCE = """
import importlib.machinery
_codes = {}
_get_code = importlib.machinery.SourceFileLoader.get_code
def _once(self, fullname):
    if self.path not in _codes:
        _codes[self.path] = _get_code(self, fullname)
    return _codes[self.path]
importlib.machinery.SourceFileLoader.get_code = _once
# The same for the methods dataclasses writes (``__init__``, ``__eq__``, ...): it compiles their
# source text for every class it decorates, each time a module runs again (over a third of the
# cost). The text is the same, so the compiled code is too; each class still gets new functions.
import dataclasses
_generated = {}
def _exec_once(source, globals=None, locals=None):
    code = _generated.get(source)
    if code is None:
        code = _generated[source] = compile(source, "<string>", "exec", dont_inherit=True)
    exec(code, globals, locals)
dataclasses.exec = _exec_once
"""


def run_python(code: str) -> object:
    """Run ``code`` in a fresh interpreter at the repository root; return the JSON it prints."""
    done = subprocess.run(
        [sys.executable, "-c", COMPILE_ONCE + code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_every_module_imports_on_its_own_in_a_fresh_interpreter() -> None:
    # One interpreter, but our packages are forgotten before each import, so every module is
    # the first of ours to load: an import that only works after another one fails here.
    # Importing ``pkg.mod`` on its own first imports ``pkg`` on its own, completely; when that
    # already loaded ``pkg.mod`` (a package whose __init__ imports its modules), the import
    # of ``pkg.mod`` is that same run, already done and passed a few names earlier (sorted
    # names put a package before its modules), so it is not repeated.
    names = sorted(name for name in MODULES if name != "bot.__main__")
    code = f"""
import importlib, json, sys, traceback
failures = {{}}
loaded_by = {{}}  # module imported on its own -> ours it loaded
for name in {names!r}:
    package = name.rpartition(".")[0]
    if name in loaded_by.get(package, ()):
        continue
    for loaded in [m for m in sys.modules if m.split(".")[0] in {PACKAGES!r}]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception:
        failures[name] = traceback.format_exc(limit=3)
    else:
        loaded_by[name] = {{m for m in sys.modules if m.split(".")[0] in {PACKAGES!r}}}
print(json.dumps(failures))
"""
    assert run_python(code) == {}


def test_domain_services_and_db_never_load_discord() -> None:
    names = sorted(
        name
        for name, path in MODULES.items()
        if any(path.as_posix().startswith(folder + "/") for folder in DISCORD_FREE)
    )
    assert "bot.domain.points" in names and "db.database" in names
    code = f"""
import importlib, json, sys
for name in {names!r}:
    importlib.import_module(name)
print(json.dumps(sorted(m for m in ("discord", "apscheduler") if m in sys.modules)))
"""
    assert run_python(code) == []


@dataclass(frozen=True)
class Facts:
    """What the checks here read from one of our files, parsed once for all of them.

    Only these are kept, not the syntax tree: the trees of all our files are ~270,000 objects,
    and kept for the rest of the test process every full garbage collection walked them again.
    """

    # (module, line, inside ``if TYPE_CHECKING:``, inside a function or class body)
    imports: tuple[tuple[str, int, bool, bool], ...]
    raw_http_lines: tuple[int, ...]  # ``<something>.http`` reached, see the test below
    sql_lines: tuple[int, ...]  # string literals that are SQL statements


@functools.cache
def facts(path: Path) -> Facts:
    """The imports, raw REST uses and SQL texts of one of our files."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    return Facts(tuple(_imports(tree, path)), tuple(_raw_http_lines(tree)), tuple(_sql_lines(tree)))


# What a statement for the store starts with (a string literal, or the first piece of an
# implicitly joined one).
SQL_TEXT = re.compile(
    r"\s*(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|CREATE (TABLE|INDEX)|DROP (TABLE|INDEX)"
    r"|PRAGMA \w+|BEGIN|COMMIT|ROLLBACK)\b"
)


def _sql_lines(tree: ast.Module) -> Iterator[int]:
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and SQL_TEXT.match(node.value)
        ):
            yield node.lineno


def _imports(tree: ast.Module, path: Path) -> Iterator[tuple[str, int, bool, bool]]:
    package = module_name(path) if path.name == "__init__.py" else module_name(path.parent)

    def walk(
        nodes: list[ast.stmt], type_checking: bool, nested: bool
    ) -> Iterator[tuple[str, int, bool, bool]]:
        for node in nodes:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield alias.name, node.lineno, type_checking, nested
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in node.names:
                    child = f"{base}.{alias.name}"
                    yield (child if child in MODULES else base), node.lineno, type_checking, nested
            elif isinstance(node, ast.If):
                guard = ast.unparse(node.test)
                if guard.endswith("TYPE_CHECKING"):
                    yield from walk(node.body, True, nested)
                else:
                    yield from walk(node.body, type_checking, nested)
                    yield from walk(node.orelse, type_checking, nested)
            elif isinstance(node, ast.Try):
                yield from walk(node.body, type_checking, nested)
                for handler in node.handlers:
                    yield from walk(handler.body, type_checking, nested)
                yield from walk(node.orelse, type_checking, nested)
                yield from walk(node.finalbody, type_checking, nested)
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                yield from walk(node.body, type_checking, nested)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                yield from walk(node.body, type_checking, True)

    yield from walk(tree.body, False, False)


def _raw_http_lines(tree: ast.Module) -> Iterator[int]:
    # Handing the client to discord.py's connection state (``http=self.http``) is no call.
    handed = {id(k.value) for k in ast.walk(tree) if isinstance(k, ast.keyword) and k.arg == "http"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "http" and id(node) not in handed:
            if isinstance(node.value, ast.Name) and node.value.id == "discord":
                continue  # the discord.http module itself (e.g. a Route), not a call
            yield node.lineno


def imports_of(path: Path, *, type_checking: bool, nested: bool) -> Iterator[tuple[str, int]]:
    """Modules ``path`` imports, with line numbers.

    ``type_checking``: include ``if TYPE_CHECKING:`` blocks; ``nested``: include imports inside
    functions and classes (which run later, not at import time).
    """
    for name, line, under_type_checking, inside in facts(path).imports:
        if (type_checking or not under_type_checking) and (nested or not inside):
            yield name, line


def test_domain_services_and_db_do_not_import_discord_anywhere() -> None:
    found = [
        f"{path}:{line} imports {name}"
        for path in source_files()
        if any(path.as_posix().startswith(folder + "/") for folder in DISCORD_FREE)
        for name, line in imports_of(path, type_checking=True, nested=True)
        if name.split(".")[0] in {"discord", "apscheduler"}
    ]
    assert found == []


def sqlite_exceptions() -> list[str]:
    """Files ruff lets import SQLite (TID253 per-file ignores): one list for both checks."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    ignores = config["tool"]["ruff"]["lint"]["per-file-ignores"]
    return [pattern for pattern, rules in ignores.items() if "TID253" in rules]


def test_only_db_imports_sqlite() -> None:
    allowed = sqlite_exceptions()
    assert "db/**" in allowed
    found = [
        f"{path}:{line} imports {name}"
        for path in source_files()
        if not any(fnmatch.fnmatch(path.as_posix(), pattern) for pattern in allowed)
        for name, line in imports_of(path, type_checking=True, nested=True)
        if name.split(".")[0] in SQLITE
    ]
    assert found == []


def cycles(*, type_checking: bool) -> list[list[str]]:
    """Strongly connected groups of more than one module in our import graph (Tarjan)."""
    graph = {
        name: sorted(
            {
                target
                for target, _ in imports_of(path, type_checking=type_checking, nested=False)
                if target in MODULES and target != name
            }
        )
        for name, path in MODULES.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in graph:
        if node not in index:
            visit(node)
    return groups


def test_no_import_cycles_at_run_time() -> None:
    assert cycles(type_checking=False) == []


def test_app_and_wiring_no_longer_import_each_other() -> None:
    # bot.app names Services (bot.services), not bot.wiring, even for the type checker.
    groups = cycles(type_checking=True)
    assert not [g for g in groups if {"bot.app", "bot.wiring", "bot.services"} & set(g)], groups


def test_sql_lives_in_db() -> None:
    """Only ``db/`` speaks SQL: the services and cogs call its functions (the simulator and the
    command line included)."""
    offenders = [
        f"{path}:{line}"
        for path in source_files()
        if path.parts[0] != "db"
        for line in facts(path).sql_lines
    ]
    assert offenders == [], f"SQL outside db/: {offenders}"


def test_raw_discord_rest_calls_live_in_one_module() -> None:
    """``client.http`` (discord.py's raw REST client) is reached only through cogs/_discord_api.

    The simulator is exempt: it is the other side of the wire.
    """
    allowed = {Path("cogs/_discord_api.py")}
    offenders = []
    for path in source_files():
        if path in allowed or path.parts[:2] == ("bot", "simulator"):
            continue
        offenders += [f"{path}:{line}" for line in facts(path).raw_http_lines]
    assert offenders == [], f"raw REST calls outside cogs/_discord_api.py: {offenders}"
