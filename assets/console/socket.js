// A small Phoenix Channels v2 client (the JSON array protocol of the official phoenix.js):
// frames are [join_ref, ref, topic, event, payload]; a heartbeat every 30 s keeps the
// connection alive; after a drop it reconnects with backoff and rejoins its channels.

export class Socket {
  /// `token`: a string, or a function giving the current one (called at every
  /// reconnect, so a refreshed access token is used).
  constructor(token) {
    this.token = typeof token === "function" ? token : () => token;
    this.ref = 0;
    this.channels = new Map(); // topic -> {joinRef, payload, joined}
    this.handlers = new Map(); // topic -> Map(event -> handler), kept across (re)joins
    this.pending = new Map(); // ref -> {resolve, reject}
    this.backoff = 500;
    this.closedByUs = false;
    this.connect();
  }

  url() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${location.host}/socket/websocket?vsn=2.0.0`;
  }

  /// The token travels as the `authToken` subprotocol of phoenix.js
  /// (`base64url.bearer.phx.<base64>`), never in the URL, so no access log shows it.
  protocols() {
    const encoded = btoa(this.token()).replace(/=+$/, "");
    return ["phoenix", `base64url.bearer.phx.${encoded}`];
  }

  connect() {
    this.ws = new WebSocket(this.url(), this.protocols());
    this.ws.onopen = () => {
      this.backoff = 500;
      this.heartbeat = setInterval(() => this.send(null, "phoenix", "heartbeat", {}), 30000);
      for (const [topic, channel] of this.channels) this.sendJoin(topic, channel);
    };
    this.ws.onmessage = (message) => this.receive(JSON.parse(message.data));
    this.ws.onclose = () => {
      clearInterval(this.heartbeat);
      for (const channel of this.channels.values()) channel.joined = false;
      if (!this.closedByUs) {
        setTimeout(() => this.connect(), this.backoff);
        this.backoff = Math.min(this.backoff * 2, 10000);
      }
    };
  }

  nextRef() {
    this.ref += 1;
    return String(this.ref);
  }

  send(joinRef, topic, event, payload, ref = this.nextRef()) {
    if (this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify([joinRef, ref, topic, event, payload]));
    }
    return ref;
  }

  request(joinRef, topic, event, payload, ref = this.nextRef()) {
    return new Promise((resolve, reject) => {
      this.send(joinRef, topic, event, payload, ref);
      this.pending.set(ref, { resolve, reject });
      setTimeout(() => {
        if (this.pending.delete(ref)) reject(new Error("timeout"));
      }, 10000);
    });
  }

  sendJoin(topic, channel) {
    // A join's ref is also its join_ref, which tags every later message of this join.
    channel.joinRef = this.nextRef();
    return this.request(channel.joinRef, topic, "phx_join", channel.payload, channel.joinRef).then((response) => {
      channel.joined = true;
      channel.onJoin?.(response);
      return response;
    });
  }

  /// Joins `topic`; resolves with the join reply's response, rejects with the refusal.
  join(topic, payload = {}, onJoin) {
    const channel = { payload, joined: false, onJoin };
    this.channels.set(topic, channel);
    if (this.ws.readyState !== WebSocket.OPEN) {
      return new Promise((resolve, reject) => {
        channel.onJoin = (response) => { onJoin?.(response); resolve(response); };
        channel.onRefuse = reject;
      });
    }
    return this.sendJoin(topic, channel);
  }

  /// Listens to `event` on `topic`, whether or not it is joined yet.
  on(topic, event, handler) {
    if (!this.handlers.has(topic)) this.handlers.set(topic, new Map());
    this.handlers.get(topic).set(event, handler);
  }

  push(topic, event, payload) {
    const channel = this.channels.get(topic);
    if (!channel || !channel.joined) return Promise.reject(new Error("not joined"));
    return this.request(channel.joinRef, topic, event, payload);
  }

  leave(topic) {
    const channel = this.channels.get(topic);
    if (!channel) return;
    this.channels.delete(topic);
    this.handlers.delete(topic);
    this.send(channel.joinRef, topic, "phx_leave", {});
  }

  close() {
    this.closedByUs = true;
    clearInterval(this.heartbeat);
    this.ws.close();
  }

  receive([joinRef, ref, topic, event, payload]) {
    if (event === "phx_reply" && this.pending.has(ref)) {
      const { resolve, reject } = this.pending.get(ref);
      this.pending.delete(ref);
      if (payload.status === "ok") resolve(payload.response);
      else {
        const channel = this.channels.get(topic);
        if (channel && ref === channel.joinRef) channel.onRefuse?.(payload.response);
        reject(payload.response);
      }
      return;
    }
    const channel = this.channels.get(topic);
    if (!channel) return;
    if (joinRef && joinRef !== channel.joinRef) return; // a message for an older join
    this.handlers.get(topic)?.get(event)?.(payload);
  }
}
