"""The single-process backend: everything in this process's memory."""
