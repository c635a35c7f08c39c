"""The chat rules: joining and leaving, presence across tabs, check-ins, sending, typing, limits."""
