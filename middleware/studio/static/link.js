// The page's side of the WebSocket transport (docs/protocol.md, "WebSocket transport"):
// JSON request envelopes out, JSON replies and notifications in, PCM blocks as binary
// messages (u32 header length, JSON header, interleaved samples).

export class RemoteError extends Error {
  constructor(error) {
    super(`${error.code}: ${error.message}`);
    this.code = error.code;
    this.detail = error.detail || {};
    this.wire = error;
  }
}

export class Link {
  constructor(url) {
    this.url = url;
    this.nextId = 1;
    this.pending = new Map();
    this.noteHandlers = new Map();
    this.onPcm = null;
    this.onClose = null;
    this.lastSent = performance.now();
    this.session = null;
    this.hello = null;
  }

  open() {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      ws.binaryType = "arraybuffer";
      ws.onopen = () => resolve(this);
      ws.onerror = () => reject(new Error(`cannot open ${this.url}`));
      ws.onclose = () => {
        for (const { reject: fail } of this.pending.values()) fail(new Error("socket closed"));
        this.pending.clear();
        if (this.onClose) this.onClose();
      };
      ws.onmessage = (event) => this.receive(event.data);
      this.ws = ws;
    });
  }

  receive(data) {
    if (typeof data !== "string") {
      const view = new DataView(data);
      const length = view.getUint32(0, true);
      const header = JSON.parse(new TextDecoder().decode(new Uint8Array(data, 4, length)));
      const samples = new Float32Array(data, 4 + length);
      if (this.onPcm) this.onPcm(header, samples);
      return;
    }
    const message = JSON.parse(data);
    if (message.note !== undefined) {
      for (const handler of this.noteHandlers.get(message.note) || []) handler(message.body);
      for (const handler of this.noteHandlers.get("*") || []) handler(message.note, message.body);
      return;
    }
    const waiter = this.pending.get(message.id);
    if (!waiter) return;
    this.pending.delete(message.id);
    if (message.ok) waiter.resolve(message.result);
    else waiter.reject(new RemoteError(message.error));
  }

  on(topic, handler) {
    if (!this.noteHandlers.has(topic)) this.noteHandlers.set(topic, []);
    this.noteHandlers.get(topic).push(handler);
  }

  sendRaw(text) {
    this.ws.send(text);
    this.lastSent = performance.now();
  }

  request(type, body = {}) {
    const id = this.nextId++;
    const promise = new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.sendRaw(JSON.stringify({ v: 1, id, type, body }));
    return promise;
  }

  async helloFor(pack) {
    const result = await this.request("hello", {
      versions: [1],
      client: "ostinato-studio/0.1",
      capabilities: ["pcm.f32"],
      pack,
      resume: null,
    });
    this.session = result.session;
    this.hello = result;
    return result;
  }

  close() {
    if (this.ws) this.ws.close();
  }
}
