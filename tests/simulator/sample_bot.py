"""A small discord.py bot that exercises every simulator feature the contract tests cover."""

from __future__ import annotations

import io
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

TIMEZONES = ["Europe/London", "Europe/Lisbon", "Europe/Paris", "America/New_York"]


class PanelView(discord.ui.View):
    """Persistent view: fixed custom_ids, no timeout, re-added in setup_hook."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(
        label="Say hello", custom_id="panel:hello", style=discord.ButtonStyle.primary
    )
    async def hello(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        await interaction.response.send_message(f"hello {interaction.user.name}", ephemeral=True)

    @discord.ui.button(label="Close", custom_id="panel:close", style=discord.ButtonStyle.danger)
    async def close(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        button.disabled = True
        await interaction.response.edit_message(content="closed", view=self)

    @discord.ui.select(
        custom_id="panel:pick",
        options=[
            discord.SelectOption(label="Maths", value="math"),
            discord.SelectOption(label="Art", value="art"),
        ],
    )
    async def pick(self, interaction: discord.Interaction, select: discord.ui.Select[Any]) -> None:
        await interaction.response.send_message(f"picked {select.values[0]}")


class FeedbackModal(discord.ui.Modal, title="Feedback"):
    """A modal with one required and one optional text input."""

    text: discord.ui.TextInput[Any] = discord.ui.TextInput(
        label="What happened?", custom_id="feedback:text"
    )
    mood: discord.ui.TextInput[Any] = discord.ui.TextInput(
        label="Mood", custom_id="feedback:mood", required=False
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(
            f"thanks: {self.text.value} ({self.mood.value or '-'})"
        )


class SampleBot(commands.Bot):
    """The bot under test; records the gateway events it saw."""

    def __init__(self, *, intents: discord.Intents | None = None) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents or discord.Intents.default(),
            guild_ready_timeout=0,
        )
        self.seen_messages: list[discord.Message] = []
        self.seen_events: list[str] = []

    async def setup_hook(self) -> None:
        self.add_view(PanelView())
        add_commands(self.tree)
        await self.tree.sync()

    async def on_message(self, message: discord.Message) -> None:
        self.seen_messages.append(message)

    async def on_member_join(self, member: discord.Member) -> None:
        self.seen_events.append(f"join {member.name}")

    async def on_member_update(self, before: discord.Member, after: discord.Member) -> None:
        self.seen_events.append(f"update {after.name}")

    async def on_guild_join(self, guild: discord.Guild) -> None:
        self.seen_events.append(f"guild_join {guild.name}")

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        self.seen_events.append(f"guild_remove {guild.name}")

    async def on_guild_role_create(self, role: discord.Role) -> None:
        self.seen_events.append(f"role_create {role.name}")

    async def on_thread_create(self, thread: discord.Thread) -> None:
        self.seen_events.append(f"thread_create {thread.name}")


def add_commands(tree: app_commands.CommandTree[Any]) -> None:
    """Register the sample slash commands."""

    @tree.command(description="Plain reply")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pong")

    @tree.command(description="Ephemeral reply")
    async def secret(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("only you", ephemeral=True)

    @tree.command(description="Defer, then follow up")
    async def slow(interaction: discord.Interaction, ephemeral: bool = False) -> None:
        await interaction.response.defer(thinking=True, ephemeral=ephemeral)
        await interaction.followup.send("done")

    @tree.command(description="Defer, then edit the original")
    async def slow_edit(interaction: discord.Interaction) -> None:
        await interaction.response.defer()
        await interaction.edit_original_response(content="edited")

    admin = app_commands.Group(name="admin", description="Admin tools")
    settings = app_commands.Group(name="settings", description="Settings", parent=admin)

    @settings.command(name="timezone", description="Set the class time zone")
    async def timezone(interaction: discord.Interaction, zone: str, week_start: int = 1) -> None:
        await interaction.response.send_message(f"zone={zone} week_start={week_start}")

    @timezone.autocomplete("zone")
    async def zone_complete(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=z, value=z) for z in TIMEZONES if z.startswith(current)]

    tree.add_command(admin)

    @tree.command(description="Post the panel")
    async def panel(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Panel", view=PanelView())

    @tree.command(description="Open the feedback form")
    async def feedback(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(FeedbackModal())

    @tree.command(description="Give a role")
    async def grant(
        interaction: discord.Interaction, member: discord.Member, role: discord.Role
    ) -> None:
        await member.add_roles(role)
        await interaction.response.send_message(f"gave {role.name} to {member.name}")

    @tree.command(description="Take a role")
    async def revoke(
        interaction: discord.Interaction, member: discord.Member, role: discord.Role
    ) -> None:
        try:
            await member.remove_roles(role)
        except discord.Forbidden:
            await interaction.response.send_message("cannot", ephemeral=True)
            return
        await interaction.response.send_message(f"took {role.name} from {member.name}")

    @tree.command(description="Open a private help session")
    async def session(interaction: discord.Interaction, student: discord.Member) -> None:
        assert isinstance(interaction.channel, discord.TextChannel)
        thread = await interaction.channel.create_thread(
            name=f"help-{student.name}", type=discord.ChannelType.private_thread, invitable=False
        )
        await thread.add_user(student)
        await thread.send(f"Welcome {student.mention}")
        await interaction.response.send_message(f"opened {thread.mention}", ephemeral=True)
        await thread.edit(archived=True, locked=True)

    @tree.command(description="DM someone, with a fallback")
    async def remind(interaction: discord.Interaction, member: discord.Member) -> None:
        try:
            await member.send("Reminder: session at 3pm")
        except discord.Forbidden:
            await interaction.response.send_message("could not DM", ephemeral=True)
            return
        await interaction.response.send_message("sent", ephemeral=True)

    @tree.command(description="Send a file")
    async def report(interaction: discord.Interaction) -> None:
        data = discord.File(io.BytesIO(b"name,points\nalice,3\n"), filename="report.csv")
        await interaction.response.send_message("here", file=data)

    @tree.command(description="Announce text without pinging")
    async def announce(interaction: discord.Interaction, text: str) -> None:
        assert isinstance(interaction.channel, discord.TextChannel)
        await interaction.channel.send(text, allowed_mentions=discord.AllowedMentions.none())
        await interaction.response.send_message("announced", ephemeral=True)

    @tree.command(description="Shout (mentions allowed)")
    async def shout(interaction: discord.Interaction, member: discord.Member) -> None:
        assert isinstance(interaction.channel, discord.TextChannel)
        await interaction.channel.send(
            f"Well done {member.mention}!", allowed_mentions=discord.AllowedMentions(users=[member])
        )
        await interaction.response.send_message("shouted", ephemeral=True)

    @tree.command(description="Describe a channel")
    async def where(interaction: discord.Interaction, channel: discord.TextChannel) -> None:
        await interaction.response.send_message(f"channel={channel.name}")

    @tree.command(description="Broken command")
    async def broken(interaction: discord.Interaction) -> None:
        raise RuntimeError("boom")
