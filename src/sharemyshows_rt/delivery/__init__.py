"""Getting stored messages to every member: group commit, the show feed, history."""
