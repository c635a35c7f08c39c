// Type-checked only (tsc --noEmit -p tests/js/tsconfig.json): socket.io-client typed with the
// generated event types, so a change to a payload that breaks a client fails the build.
import { io, type Socket } from "socket.io-client";
import type {
  ClientToServerEvents,
  MessageOut,
  ServerToClientEvents,
} from "../../clients/typescript/events.js";

export function chat(url: string, token: string): Socket<ServerToClientEvents, ClientToServerEvents> {
  const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(url, { auth: { token } });
  const shown: MessageOut[] = [];
  socket.on("connected", ({ username, user_id }) => console.log(username, user_id.toFixed()));
  socket.on("new_message", (message) => shown.push(message));
  socket.on("message_history", ({ messages, has_more }) => shown.unshift(...messages) && has_more);
  socket.on("user_joined", (change) => console.log(change.message, change.count, change.joined?.length));
  socket.on("error", ({ event, message, details }) => console.warn(event, message, details));
  socket.emit("join_show", { show_id: 1 }, (ack) => {
    if (ack.ok) console.log("joined", ack.show_id);
    else console.warn(ack.error.message);
  });
  socket.emit("send_message", { show_id: 1, message: "hi", client_msg_id: "c-1" }, (ack) => {
    if (ack.ok) shown.push(ack.message);
    else console.warn(ack.error.retry_after_ms);
  });
  return socket;
}

export async function history(socket: Socket<ServerToClientEvents, ClientToServerEvents>): Promise<number> {
  const page = await socket.emitWithAck("get_message_history", { show_id: 1, limit: 50 });
  return page.ok ? page.messages.length : 0;
}
