"""Lessons: `/lesson start|end|status`, the lesson's help panel and its celebration post."""

from cogs.lessons._cog import LessonsCog, setup

__all__ = ["LessonsCog", "setup"]
