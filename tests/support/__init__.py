"""Test support: the server process, its database, tokens and a recording Socket.IO client."""
