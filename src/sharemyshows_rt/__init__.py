"""sharemyshows-rt: live chat and presence for ShareMyShows shows, over Socket.IO."""

__version__ = "0.1.0"
