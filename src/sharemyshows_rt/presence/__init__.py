"""Who is in which show: one small interface, an in-memory and a Redis implementation."""

from .base import Departure, Member, Presence
from .memory import MemoryPresence

__all__ = ["Departure", "Member", "MemoryPresence", "Presence"]
