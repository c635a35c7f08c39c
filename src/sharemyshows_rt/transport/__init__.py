"""The only code that touches engine.io, socket.io, uvicorn and websockets: the Socket.IO
namespace, the connection's send path, the handshake, and the rooms interface the rest uses."""
