"""Loading the features again without executing their modules again, for processes that start
the bot many times (the end-to-end tests, the demo, the benchmark).

discord.py's ``Bot.load_extension`` executes an extension's module afresh, and ``Bot.close``
unloads every extension and drops its module and submodules from ``sys.modules``: the next start
in the same process executes all of ``cogs/`` again (about a tenth of a second and a third of the
CPU of starting a bot against the simulator). In :func:`reusing`, ``load_extension`` still does
everything it does in production (its ``setup`` runs, the cogs, commands, listeners and
persistent views are added to *this* bot, ``bot.extensions`` lists it, unload and close work),
except that a module this process already executed for an earlier bot is handed back as it was,
with its submodules, instead of being executed again.

That is safe because the cogs keep no state at module or class level (everything lives on the
cog instance, the bot or the database); the end-to-end tests check it after every test with
:func:`fingerprint`. ``reload_extension`` and any load outside :func:`reusing` keep discord.py's
semantics: the module is executed again. Production starts one bot per process and never
reuses.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib.abc
import importlib.machinery
import inspect
import logging
import sys
from collections.abc import Iterable, Iterator, Mapping
from types import ModuleType
from typing import Any

__all__ = ["fingerprint", "forget", "leaks", "remember", "reusing"]

# Per process, like sys.modules itself: extension name -> the modules one successful load left
# in sys.modules (the extension and its submodules), with their original specs.
_EXECUTED: dict[str, dict[str, ModuleType]] = {}
_SPECS: dict[str, importlib.machinery.ModuleSpec | None] = {}
# Set only while a bot that asked for it loads its extensions (per task, so a reload running
# in another task at the same moment keeps discord.py's semantics).
_REUSING: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "classmentor_reuse_extension_modules", default=False
)


class _Reloader(importlib.abc.Loader):
    """Hands back an already executed module (and puts its submodules back in sys.modules)."""

    def __init__(self, modules: Mapping[str, ModuleType]) -> None:
        self._modules = dict(modules)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return self._modules[spec.name]

    def exec_module(self, module: ModuleType) -> None:
        # module_from_spec pointed __spec__ at this loader's spec: restore the real one, so
        # the module looks exactly as after its first import.
        for name, each in self._modules.items():
            each.__spec__ = _SPECS.get(name)
        sys.modules.update(self._modules)


class _Finder(importlib.abc.MetaPathFinder):
    """Finds an executed extension module while :func:`reusing` is on (otherwise: nothing)."""

    def find_spec(
        self, fullname: str, path: Any = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not _REUSING.get():
            return None
        modules = _EXECUTED.get(fullname)
        if modules is None:
            return None
        module = modules[fullname]
        original = _SPECS.get(fullname)
        return importlib.machinery.ModuleSpec(
            fullname,
            _Reloader(modules),
            origin=original.origin if original else None,
            is_package=hasattr(module, "__path__"),
        )


_FINDER = _Finder()


@contextlib.contextmanager
def reusing(enabled: bool = True) -> Iterator[None]:
    """While inside, ``load_extension`` hands back modules :func:`remember` kept."""
    if not enabled:
        yield
        return
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
    token = _REUSING.set(True)
    try:
        yield
    finally:
        _REUSING.reset(token)


def forget(names: Iterable[str]) -> None:
    """Drop unloaded extensions' modules (by name or key) and every submodule from
    ``sys.modules``.

    What discord.py's ``Bot._call_module_finalizers`` does after ``teardown``, in one pass for
    them all: discord.py calls a helper per entry of ``sys.modules`` for each extension it
    unloads (~2.5 ms per bot stop in a test process with ~1,400 modules loaded). A reusing bot
    calls this instead; its next start hands the modules back (see :func:`reusing`).
    """
    exact = frozenset(names)
    prefixes = tuple(name + "." for name in exact)
    for module in [m for m in sys.modules if m in exact or m.startswith(prefixes)]:
        del sys.modules[module]


def remember(extension: str) -> None:
    """Keep the modules the just-loaded ``extension`` left in sys.modules, for the next bot."""
    kept = _EXECUTED.get(extension)
    if kept is not None and sys.modules.get(extension) is kept[extension]:
        return  # handed back by this module's loader: nothing new to keep
    modules = {
        name: module
        for name, module in list(sys.modules.items())
        if name == extension or name.startswith(extension + ".")
    }
    if extension not in modules:
        return
    for name, module in modules.items():
        spec = module.__spec__
        if spec is None or not isinstance(spec.loader, _Reloader):
            _SPECS[name] = spec
    _EXECUTED[extension] = modules


Fingerprint = dict[str, tuple[int, dict[str, object]]]


def fingerprint() -> Fingerprint:
    """The module- and class-level state of every kept extension module, to compare.

    Per module (and its identity): per global and per class attribute, its identity and, for
    containers (a function's defaults too), what they hold, three levels deep.
    """
    seen: Fingerprint = {}
    for modules in _EXECUTED.values():
        for name, module in modules.items():
            state: dict[str, object] = {}
            for attr, value in vars(module).items():
                if attr.startswith("__") and attr != "__all__":
                    continue
                state[attr] = _state(value)
                if inspect.isclass(value) and value.__module__ == name:
                    for key, member in vars(value).items():
                        if key not in ("__dict__", "__weakref__", "__doc__"):
                            state[f"{attr}.{key}"] = _state(member)
            seen[name] = (id(module), state)
    return seen


def leaks(before: Fingerprint, after: Fingerprint) -> list[str]:
    """What changed in a kept module between two fingerprints (``module.attr`` names).

    A module executed afresh in between (a reload) is a new module, not a leak.
    """
    changed: list[str] = []
    for name, (identity, old) in before.items():
        kept = after.get(name)
        if kept is None or kept[0] != identity:
            continue
        new = kept[1]
        changed += [
            f"{name}.{k}" for k in sorted(old.keys() | new.keys()) if old.get(k) != new.get(k)
        ]
    return changed


def _state(value: object, depth: int = 3) -> object:
    """``value``'s identity and, ``depth`` levels down, what it holds (hashable, comparable)."""
    if depth == 0 or value is None or isinstance(value, (str, int, float, bool)):
        return id(value)
    inner = depth - 1
    if isinstance(value, dict):
        return (id(value), tuple((repr(k), _state(v, inner)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return (id(value), tuple(_state(item, inner) for item in value))
    if isinstance(value, (set, frozenset)):
        return (id(value), frozenset(_state(item, inner) for item in value))
    if inspect.isfunction(value):
        # Mutable default arguments are state too.
        return (id(value), _state(value.__defaults__, inner), _state(value.__kwdefaults__, inner))
    if isinstance(value, (type, ModuleType, logging.Logger)) or not isinstance(
        getattr(value, "__dict__", None), dict
    ):
        # Modules and classes are walked on their own; a logger's level cache is logging's.
        return id(value)
    # An instance kept at module or class level (a command group, a choice): its attributes.
    return (id(value), _state(vars(value), inner))
