"""The multi-process backend: presence, limits and liveness shared through Redis."""
