"""Persistence: the contract's tables, the engine and the repositories over them."""
