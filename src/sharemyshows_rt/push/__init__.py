"""Web Push notifications (RFC 8030, 8291, 8292): fans who closed the page still hear that
their show's chat is alive, without being flooded."""
