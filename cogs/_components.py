"""One way to build a persistent component: buttons, selects and forms that survive restarts.

A :class:`PersistentItem` is a ``DynamicItem`` whose custom id carries what it acts on (a request
id, a subject id, an action): the base parses the id back into the constructor's arguments, asks
the subclass who may press it (:meth:`PersistentItem.check`), runs it
(:meth:`PersistentItem.run`, which re-reads the state from the database), and sends every error
through the one error path. A :class:`PersistentForm` does the same for a modal.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import discord

from cogs._errors import report_error

__all__ = ["PersistentForm", "PersistentItem", "id_parts", "view_of"]

ItemT = TypeVar("ItemT", bound=discord.ui.Item[Any])


def id_parts(match: re.Match[str]) -> list[int | str]:
    """The template's groups in order, numbers as ints (ids), words as they are (actions)."""
    return [int(part) if part.isdigit() else part for part in match.groups()]


class PersistentItem(discord.ui.DynamicItem[ItemT], template=r"(?!)"):
    """Base of every persistent component.

    Subclasses give a ``template`` whose groups, in order, are the constructor's positional
    arguments, and implement :meth:`run` (and :meth:`check` when not everyone may press).
    """

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PersistentItem[ItemT]:
        """Rebuild the component from its custom id (after a restart too)."""
        build: Any = cls  # DynamicItem's own __init__ takes the item; subclasses take the parts
        result: PersistentItem[ItemT] = build(*id_parts(match))
        return result

    async def check(self, interaction: discord.Interaction) -> None:
        """Refuse someone who may not press this (raise a ``UserFacingError``); all by default."""

    async def run(self, interaction: discord.Interaction) -> None:
        """Do what the component is for; the state is re-read here, never trusted from the id."""
        raise NotImplementedError

    async def callback(self, interaction: discord.Interaction) -> None:
        """Check, run, and send any error through the one error path."""
        try:
            await self.check(interaction)
            await self.run(interaction)
        except Exception as exc:
            await report_error(interaction, exc)


class PersistentForm(discord.ui.Modal):
    """Base of every form (modal): its errors go through the one error path."""

    async def on_error(  # type: ignore[override]  # Modal's signature, not BaseView's
        self, interaction: discord.Interaction, error: Exception, /
    ) -> None:
        """Through the one error path."""
        await report_error(interaction, error)


def view_of(*items: discord.ui.Item[Any]) -> discord.ui.View:
    """A persistent view (no timeout) holding the given items: how every button is sent."""
    view = discord.ui.View(timeout=None)
    for item in items:
        view.add_item(item)
    return view
