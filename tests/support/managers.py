"""A python-socketio client manager on its own, for unit tests of its bookkeeping."""

import itertools

from socketio import packet as sio_packet


class FakeServer:
    """What a client manager asks of python-socketio's server: new sids and the packet class."""

    packet_class = sio_packet.Packet

    def __init__(self) -> None:
        ids = itertools.count(1)

        class Eio:
            @staticmethod
            def generate_id() -> str:
                return f"sid{next(ids)}"

        self.eio = Eio()


def standalone(manager_class):
    """A manager of this class, set up as python-socketio's server would, without one."""
    made = manager_class()
    made.set_server(FakeServer())
    made.initialize()
    return made
