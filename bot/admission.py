"""Where every interaction enters the bot: the burst limit and the 3-second acknowledgement.

Discord drops an interaction that is not acknowledged within 3 s ("This interaction failed").
A handler waiting on a busy database cannot promise that, so each interaction gets a watchdog:
if nothing has answered after :data:`ACK_AFTER_S`, it is deferred (a "thinking…" reply for a
command, a silent deferred update for a button or form). Its :class:`PatientResponse` then turns
the handler's later ``response.send_message`` / ``edit_message`` into the follow-up or edit that
is valid after a defer, so handlers are written as if the store were always fast.

discord.py builds the :class:`discord.Interaction` inside its gateway parser and hands it to the
command tree, a view or a modal. :class:`AdmissionState` is that parser with one step added
before the hand-off (admit, then watch); it is the one place discord.py's internals are touched
for this, and the only one that sees commands, buttons and forms alike.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections import defaultdict, deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import discord
from discord.state import AutoShardedConnectionState, ConnectionState

from bot.errors import UserFacingError
from db.database import claiming

if TYPE_CHECKING:
    from discord.types.gateway import InteractionCreateEvent

log = logging.getLogger(__name__)

# Discord allows 3 s; deferring at 2 s leaves room for the defer's own round trip.
ACK_AFTER_S = 2.0
BUSY_TEXT = "ClassMentor is busy, try again in a moment."
# DM channels kept (discord.py keeps 128): about 1 KiB each with their user, so 4,096 is a few
# MiB for a school's worth of students, each DMed without a "create DM" call after the first.
DM_CHANNELS_KEPT = 4096


class BurstLimiter:
    """At most ``limit`` interactions per person in a sliding ``window_s`` (monotonic time)."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._recent: defaultdict[int, deque[float]] = defaultdict(deque)

    def allow(self, user_id: int, now: float | None = None) -> bool:
        """Count one interaction for ``user_id``; ``False`` (and not counted) when over the limit."""
        now = time.monotonic() if now is None else now
        recent = self._recent[user_id]
        while recent and now - recent[0] > self.window_s:
            recent.popleft()
        if not recent:
            # Forget idle people so the table does not grow with every student ever seen.
            del self._recent[user_id]
            recent = self._recent[user_id]
        if len(recent) >= self.limit:
            return False
        recent.append(now)
        return True


class AdmittedInteraction(discord.Interaction[Any]):
    """discord.py's interaction, which its response may refer back to weakly (see below)."""

    __slots__ = ("__weakref__",)


class PatientResponse(discord.InteractionResponse[Any]):
    """An interaction response that stays valid after the watchdog deferred it.

    All answers (the handler's and the watchdog's) go one at a time through a lock, so the
    watchdog can never defer in the middle of the handler's own first answer.

    It refers back to its interaction weakly. discord.py's response holds the interaction and
    the interaction caches its response: a reference cycle per interaction (with its member,
    user and options), which only the garbage collector frees. Kept alive for the watchdog's
    two seconds, they reached the oldest generation, and its full passes (30-100 ms under load)
    were the slowest answers. Without the cycle an interaction is freed the moment its handler
    and the watchdog let go of it; whatever answers holds the interaction meanwhile.
    """

    def __init__(self, parent: AdmittedInteraction) -> None:
        super().__init__(parent)
        self._gate = asyncio.Lock()
        self.auto_deferred = False
        self.relinquished = False  # another process answers this interaction

    @property
    def _parent(self) -> discord.Interaction[Any]:
        parent = self._parent_ref()
        if parent is None:  # nobody holds the interaction any more: nothing can answer it
            raise RuntimeError("the interaction this response belongs to is gone")
        return parent

    @_parent.setter
    def _parent(self, parent: discord.Interaction[Any]) -> None:
        # Only an AdmittedInteraction can be referred to weakly (discord.py's has no slot).
        self._parent_ref = weakref.ref(parent)

    def relinquish(self) -> None:
        """Another process handles this interaction: never answer it from here."""
        self.relinquished = True

    async def auto_defer(self) -> None:
        """Defer now unless something already answered (the watchdog's step)."""
        async with self._gate:
            if self.is_done() or self.relinquished:
                return
            try:
                if self._parent.type is discord.InteractionType.application_command:
                    await super().defer(ephemeral=True, thinking=True)
                else:
                    await super().defer()
            except discord.HTTPException:
                log.warning("could not defer slow interaction %s", self._parent.id)
                return
            self.auto_deferred = True

    async def defer(self, *, ephemeral: bool = False, thinking: bool = False) -> Any:
        """Defer, unless the watchdog already did (then there is nothing left to do)."""
        async with self._gate:
            if self.auto_deferred:
                return None
            return await super().defer(ephemeral=ephemeral, thinking=thinking)

    async def send_message(self, content: Any = None, **kwargs: Any) -> Any:
        """The first reply; after an automatic defer it is sent as the follow-up instead."""
        async with self._gate:
            if not self.auto_deferred:
                return await super().send_message(content, **kwargs)
        kwargs.pop("delete_after", None)
        return await self._parent.followup.send(content, **kwargs)

    async def edit_message(self, **kwargs: Any) -> Any:
        """Edit the button's message; after an automatic defer, through the original response."""
        async with self._gate:
            if not self.auto_deferred:
                return await super().edit_message(**kwargs)
        for unsupported in ("delete_after", "suppress_embeds"):
            kwargs.pop(unsupported, None)
        return await self._parent.edit_original_response(**kwargs)

    async def send_modal(self, modal: discord.ui.Modal, /) -> Any:
        """A form must be the first answer: too late once the watchdog deferred."""
        async with self._gate:
            if self.auto_deferred:
                raise UserFacingError(BUSY_TEXT)
            return await super().send_modal(modal)


class Watchdog:
    """The interactions waiting for their first answer, in arrival order, and ONE timer.

    A timer per interaction (``call_later``) costs a handle, a closure and two heap operations
    on the event loop for every interaction, nearly all of which are answered long before it
    fires. Here watching is an append; one timer walks the line from the oldest deadline and
    hands every interaction still unanswered to ``defer``. Sweeps are at least ``after_s / 20``
    apart (0.1 s for the 2 s default), so a slow interaction is deferred at most that late.
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, defer: Callable[[AdmittedInteraction], None]
    ) -> None:
        self._loop = loop
        self._defer = defer
        # The interactions themselves, not only their responses: a handler that returned
        # without answering still gets its defer (the response refers to them weakly).
        self._line: deque[tuple[float, AdmittedInteraction]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    def watch(self, interaction: AdmittedInteraction, after_s: float) -> None:
        """Hand ``interaction`` to ``defer`` after ``after_s`` seconds unless answered by then."""
        due = self._loop.time() + after_s
        if self._line and due < self._line[-1][0]:
            # The wait was shortened meanwhile: this one would queue behind later deadlines.
            self._loop.call_at(due, self._check, interaction)
            return
        self._line.append((due, interaction))
        if self._timer is None:
            self._arm(after_s)

    def _check(self, interaction: AdmittedInteraction) -> None:
        if not interaction.response.is_done():
            self._defer(interaction)

    def _arm(self, after_s: float) -> None:
        due = max(self._line[0][0], self._loop.time() + min(after_s / 20, 0.1))
        self._timer = self._loop.call_at(due, self._sweep, after_s)

    def _sweep(self, after_s: float) -> None:
        self._timer = None
        now = self._loop.time()
        line = self._line
        while line and line[0][0] <= now:
            self._check(line.popleft()[1])
        if line:
            self._arm(after_s)


class InteractionGate(Protocol):
    """What :class:`AdmissionState` asks before handing an interaction on (the command tree)."""

    ack_after_s: float

    def admit(self, interaction: discord.Interaction[Any]) -> bool:
        """``False`` to drop the interaction (the gate answered it itself)."""
        ...


class AdmissionState(ConnectionState[Any]):
    """discord.py's connection state, admitting and watching every interaction first.

    It also keeps more DM channels than discord.py's 128: a bot serving a few classes DMs
    hundreds of students and mentors (awards, offers, lesson questions), and every DM to a
    person whose channel fell out of the cache costs a "create DM" call first.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._watchdogs: set[asyncio.Task[None]] = set()
        self._watchdog: Watchdog | None = None

    def _add_private_channel(self, channel: discord.abc.PrivateChannel) -> None:
        """discord.py's cache of private channels, least recently used first, up to
        :data:`DM_CHANNELS_KEPT` instead of 128."""
        self._private_channels[channel.id] = channel
        if len(self._private_channels) > DM_CHANNELS_KEPT:
            _, dropped = self._private_channels.popitem(last=False)
            if isinstance(dropped, discord.DMChannel) and dropped.recipient:
                self._private_channels_by_user.pop(dropped.recipient.id, None)
        if isinstance(channel, discord.DMChannel) and channel.recipient:
            self._private_channels_by_user[channel.recipient.id] = channel

    def parse_interaction_create(self, data: InteractionCreateEvent) -> None:
        """Build the interaction, admit and watch it, then dispatch it as discord.py does."""
        interaction = AdmittedInteraction(data=data, state=self)
        gate: InteractionGate | None = self._command_tree  # type: ignore[assignment]
        if gate is not None and interaction.type is not discord.InteractionType.autocomplete:
            interaction._cs_response = PatientResponse(interaction)  # type: ignore[attr-defined]
            if not gate.admit(interaction):
                return
            self._watch(interaction, gate.ack_after_s)
        if interaction.type is discord.InteractionType.autocomplete:
            self._hand_on(data, interaction)
            return
        # The tasks discord.py starts for it carry its id: its first write claims it, so with
        # two processes briefly on one shard (a rolling restart) it is written once.
        with claiming(interaction.id):
            self._hand_on(data, interaction)

    def _hand_on(self, data: InteractionCreateEvent, interaction: discord.Interaction[Any]) -> None:
        # Exactly discord.py 2.7's ConnectionState.parse_interaction_create from here on.
        if data["type"] in (2, 4) and self._command_tree:
            self._command_tree._from_interaction(interaction)
        elif data["type"] == 3:
            component: Any = data["data"]
            self._view_store.dispatch_view(
                component["component_type"], component["custom_id"], interaction
            )
        elif data["type"] == 5:
            form: Any = data["data"]
            self._view_store.dispatch_modal(
                form["custom_id"], interaction, form["components"], form.get("resolved", {})
            )
        self.dispatch("interaction", interaction)

    def _watch(self, interaction: AdmittedInteraction, after_s: float) -> None:
        """Defer ``interaction`` after ``after_s`` seconds if nothing answered it by then."""
        if self._watchdog is None:
            self._watchdog = Watchdog(asyncio.get_running_loop(), self._defer)
        self._watchdog.watch(interaction, after_s)

    def _defer(self, interaction: AdmittedInteraction) -> None:
        task = asyncio.get_running_loop().create_task(_auto_defer(interaction))
        self._watchdogs.add(task)  # keep a reference until it is done
        task.add_done_callback(self._watchdogs.discard)


async def _auto_defer(interaction: AdmittedInteraction) -> None:
    """The watchdog's defer, holding the interaction until it is done."""
    response = interaction.response
    if isinstance(response, PatientResponse):
        await response.auto_defer()


class ShardedAdmissionState(AdmissionState, AutoShardedConnectionState[Any]):
    """The same admission for a sharded bot (discord.py's AutoShardedBot)."""
