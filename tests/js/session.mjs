// An agent and a patient on one call, both through the official Phoenix JS client:
// presence, the call topic's participants, an offer/answer and ICE relay, chat, a
// heartbeat, and a refused join. Prints "OK" and exits 0 when every step worked.
//
// usage: node session.mjs <ws://host:port/socket> <agent token> <patient token> <call id> <department id>
import { Socket, Presence } from "phoenix";
import WebSocket from "ws"; // Node 20 has no global WebSocket

const [endpoint, agentToken, patientToken, callId, departmentId] = process.argv.slice(2);
const fail = (why) => {
  console.error("FAIL:", why);
  process.exit(1);
};
setTimeout(() => fail("timeout after 15 s"), 15_000);

const connect = (token) => {
  const socket = new Socket(endpoint, { transport: WebSocket, params: { token }, reconnectAfterMs: () => 60_000 });
  socket.onError((error) => fail(`socket error: ${error?.message || error}`));
  socket.connect();
  return socket;
};
const reply = (push) =>
  new Promise((resolve, reject) =>
    push
      .receive("ok", resolve)
      .receive("error", (e) => reject(new Error(`error reply ${JSON.stringify(e)}`)))
      .receive("timeout", () => reject(new Error("no reply (timeout)"))),
  );
const next = (channel, event) => new Promise((resolve) => {
  const ref = channel.on(event, (payload) => {
    channel.off(event, ref);
    resolve(payload);
  });
});

try {
  const agentSocket = connect(agentToken);

  // Presence on the department: the agent sees themself, then changes status.
  const presenceChannel = agentSocket.channel(`presence:${departmentId}`);
  const presence = new Presence(presenceChannel);
  const synced = new Promise((resolve) => presence.onSync(() => presence.list().length > 0 && resolve()));
  await reply(presenceChannel.join());
  await synced;
  // A heartbeat round trip (ping needs an open connection, which the join proved).
  const rtt = await new Promise((resolve) => agentSocket.ping(resolve));
  if (typeof rtt !== "number") throw new Error("no heartbeat round trip");
  const [mine] = presence.list();
  if (mine.metas[0].status !== "available") throw new Error(`presence ${JSON.stringify(mine)}`);
  const busy = new Promise((resolve) => presence.onSync(() => presence.list()[0]?.metas[0]?.status === "busy" && resolve()));
  await reply(presenceChannel.push("status", { status: "busy" }));
  await busy;

  // A topic the agent may not join is refused.
  const refused = agentSocket.channel("dashboard");
  const refusal = await reply(refused.join()).then(() => null, (e) => e.message);
  refused.leave();
  if (!refusal?.includes("unauthorized")) throw new Error(`dashboard join: ${refusal}`);

  // Both on the call.
  const agentCall = agentSocket.channel(`call:${callId}`);
  const joinedAgent = await reply(agentCall.join());
  if (joinedAgent.role !== "agent") throw new Error(`agent join ${JSON.stringify(joinedAgent)}`);
  const patientArrives = next(agentCall, "participant_joined");
  const patientSocket = connect(patientToken);
  const patientCall = patientSocket.channel(`call:${callId}`);
  const joinedPatient = await reply(patientCall.join());
  if (joinedPatient.participants?.[0]?.role !== "agent") throw new Error(`patient join ${JSON.stringify(joinedPatient)}`);
  if ((await patientArrives).role !== "customer") throw new Error("participant_joined");

  // Offer → answer → candidates, each relayed to the other side only.
  const offerArrives = next(patientCall, "signal");
  await reply(agentCall.push("signal", { type: "offer", sdp: "v=0 offer" }));
  if ((await offerArrives).sdp !== "v=0 offer") throw new Error("offer not relayed");
  const answerArrives = next(agentCall, "signal");
  await reply(patientCall.push("signal", { type: "answer", sdp: "v=0 answer" }));
  if ((await answerArrives).type !== "answer") throw new Error("answer not relayed");
  const candidateArrives = next(agentCall, "ice_candidate");
  await reply(patientCall.push("ice_candidate", { candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host", sdpMid: "0", sdpMLineIndex: 0 }));
  if ((await candidateArrives).sdpMid !== "0") throw new Error("candidate not relayed");

  // Chat: everyone hears it, and it is kept.
  const chatArrives = next(agentCall, "chat_message");
  const sent = await reply(patientCall.push("chat_message", { body: "Olá!" }));
  const heard = await chatArrives;
  if (heard.id !== sent.message.id || heard.sender_role !== "customer") throw new Error(`chat ${JSON.stringify(heard)}`);

  // The patient leaves: the agent hears it.
  const patientLeaves = next(agentCall, "participant_left");
  await reply(patientCall.leave());
  if ((await patientLeaves).role !== "customer") throw new Error("participant_left");

  agentSocket.disconnect();
  patientSocket.disconnect();
  console.log("OK");
  process.exit(0);
} catch (error) {
  fail(error.message);
}
