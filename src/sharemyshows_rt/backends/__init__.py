"""Presence, limits and the bus between processes: one interface, in memory or in Redis."""
