// One video call between an agent and a patient over the `call:<id>` topic: the agent
// offers, the patient answers, ICE candidates are relayed by the server to the other
// side. Media flows peer to peer (with the configured STUN/TURN servers).

/// `token`: the customer's websocket_token, or the staff access token (TURN credentials
/// are only given for a call that has not ended).
export async function iceServers(callId, token) {
  try {
    const reply = await fetch(`/api/v1/call/turn-credentials?call_id=${encodeURIComponent(callId)}`, {
      headers: token ? { Authorization: `Bearer ${token}` } : {},
    });
    if (!reply.ok) return [];
    return (await reply.json()).data.ice_servers || [];
  } catch {
    return [];
  }
}

export class VideoCall {
  /// role: "agent" (offers) or "customer" (answers).
  constructor({ socket, callId, role, localVideo, remoteVideo, onState }) {
    Object.assign(this, { socket, callId, role, localVideo, remoteVideo, onState });
    this.topic = `call:${callId}`;
  }

  async start() {
    this.servers = await iceServers(this.callId, this.socket.token?.());
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
      this.localVideo.srcObject = this.stream;
    } catch (error) {
      this.onState?.("no-media", error);
      this.stream = null;
    }
    this.socket.on(this.topic, "signal", (message) => this.onSignal(message));
    this.socket.on(this.topic, "ice_candidate", (candidate) => this.onCandidate(candidate));
    this.socket.on(this.topic, "participant_joined", (who) => {
      if (who.role === this.role) return;
      this.onState?.("peer-joined", who);
      if (this.role === "agent" && who.role === "customer") this.offer();
    });
    this.socket.on(this.topic, "participant_left", (who) => {
      if (who.role !== this.role) this.onState?.("peer-left", who);
    });
    this.socket.on(this.topic, "mute", (what) => this.onState?.("remote-mute", what));
    const joined = await this.socket.join(this.topic, {});
    if (this.role === "agent") await this.offer();
    return joined;
  }

  peer() {
    if (this.pc) this.pc.close();
    const pc = new RTCPeerConnection({ iceServers: this.servers });
    this.pc = pc;
    if (this.stream) for (const track of this.stream.getTracks()) pc.addTrack(track, this.stream);
    pc.onicecandidate = ({ candidate }) => {
      if (candidate) {
        this.socket.push(this.topic, "ice_candidate", {
          candidate: candidate.candidate,
          sdpMid: candidate.sdpMid,
          sdpMLineIndex: candidate.sdpMLineIndex,
        }).catch(() => {});
      }
    };
    pc.ontrack = ({ streams }) => {
      this.remoteVideo.srcObject = streams[0];
    };
    pc.onconnectionstatechange = () => {
      if (this.pc === pc) this.onState?.(pc.connectionState);
    };
    return pc;
  }

  async offer() {
    const pc = this.peer();
    if (!this.stream) {
      pc.addTransceiver("audio", { direction: "recvonly" });
      pc.addTransceiver("video", { direction: "recvonly" });
    }
    await pc.setLocalDescription(await pc.createOffer());
    await this.socket.push(this.topic, "signal", { type: "offer", sdp: pc.localDescription.sdp }).catch(() => {});
  }

  async onSignal({ type, sdp }) {
    if (type === "offer" && this.role === "customer") {
      const pc = this.peer();
      await pc.setRemoteDescription({ type, sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      await this.socket.push(this.topic, "signal", { type: "answer", sdp: pc.localDescription.sdp }).catch(() => {});
    } else if (type === "answer" && this.role === "agent" && this.pc) {
      await this.pc.setRemoteDescription({ type, sdp });
    }
  }

  async onCandidate(candidate) {
    try {
      await this.pc?.addIceCandidate(candidate);
    } catch {
      // A candidate for an older negotiation: harmless.
    }
  }

  mute(kind, muted) {
    for (const track of this.stream?.getTracks() || []) if (track.kind === kind) track.enabled = !muted;
    this.socket.push(this.topic, "mute", { type: kind, muted }).catch(() => {});
  }

  stop() {
    this.pc?.close();
    for (const track of this.stream?.getTracks() || []) track.stop();
    this.socket.leave(this.topic);
  }
}
