// The signaling WebSocket: LiveKit's SignalRequest and SignalResponse as
// protojson text frames. The node answers in JSON because the join URL says
// format=json, and keeps doing so while we send text frames. Each frame is
// one message with a single field naming its kind: {"join": {...}},
// {"offer": {...}}, {"trickle": {...}}, ...

// PROTOCOL is the LiveKit signaling protocol version we speak: two peer
// connections (/rtc), subscriber primary.
const PROTOCOL = '16';

// SignalError is a join the node refused, with its reason for people.
export class SignalError extends Error {
  constructor(message, { final = false, reason = '' } = {}) {
    super(message);
    this.final = final; // retrying with the same token cannot help
    this.reason = reason;
  }
}

// How long a join may take before the attempt counts as failed.
const JOIN_TIMEOUT = 10_000;

// openSignal connects and resolves once the node has answered with a join
// (or, when resuming, a reconnect) response: {signal, kind, body}. Messages
// after that go to onMessage(kind, body, signal); onClose(reason) is called
// once when the socket is lost (not when close() was called).
export function openSignal(base, params, { onMessage, onClose }) {
  const query = new URLSearchParams({ ...params, protocol: PROTOCOL, format: 'json', sdk: 'js', version: 'bayan-web' });
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/rtc?${query}`);
  return new Promise((resolve, reject) => {
    let signal = null;
    const timer = setTimeout(() => {
      ws.onclose = null;
      ws.close();
      reject(new SignalError('The classroom server did not answer in time'));
    }, JOIN_TIMEOUT);
    ws.onmessage = (e) => {
      if (typeof e.data !== 'string') return; // asked for JSON; ignore anything else
      let msg;
      try { msg = JSON.parse(e.data); } catch { return; }
      const [kind, body] = Object.entries(msg)[0] ?? [];
      if (!kind) return;
      if (signal) {
        signal.heard();
        onMessage(kind, body, signal);
      } else if (kind === 'join' || kind === 'reconnect') {
        clearTimeout(timer);
        signal = new Signal(ws, onClose, body);
        resolve({ signal, kind, body });
      } else if (kind === 'leave') {
        clearTimeout(timer);
        reject(new SignalError(leaveText(body), { final: (body.action ?? 'DISCONNECT') === 'DISCONNECT', reason: body.reason ?? '' }));
        ws.onclose = null;
        ws.close();
      }
    };
    ws.onclose = () => {
      if (signal) { signal.lost('connection closed'); return; }
      clearTimeout(timer);
      // The browser hides the HTTP answer of a refused WebSocket: ask the
      // node why, as LiveKit's clients do.
      explainRefusal(base, params).then(reject);
    };
  });
}

async function explainRefusal(base, params) {
  try {
    const q = new URLSearchParams({ access_token: params.access_token });
    const res = await fetch(`${base}/rtc/validate?${q}`);
    const body = (await res.text()).trim();
    if (res.status === 401) return new SignalError(`This link does not let you in: ${body}`, { final: true });
    if (!res.ok) return new SignalError(body || `The server answered ${res.status}`);
  } catch { /* the node is unreachable: a network error */ }
  return new SignalError('Cannot reach the classroom server');
}

// leaveText says why the node sent us away.
export function leaveText(leave) {
  switch (leave.reason) {
    case 'ROOM_CLOSED': case 'ROOM_DELETED': return 'The class has ended.';
    case 'DUPLICATE_IDENTITY': return 'You joined this class from another window.';
    case 'PARTICIPANT_REMOVED': return 'You were removed from the class.';
    case 'SERVER_SHUTDOWN': return 'The server is restarting.';
    case 'JOIN_FAILURE': return 'The class could not be joined.';
    case 'ROOM_FULL': return 'The class is full.';
    case 'STATE_MISMATCH': return 'The session was lost.';
    default: return 'You left the class.';
  }
}

// Signal is an open signaling connection: it sends requests, pings the node
// as the join response asks, and notices a silent socket.
class Signal {
  constructor(ws, onClose, join) {
    this.ws = ws;
    this.onClose = onClose;
    this.closed = false;
    this.rtt = 0;
    // A reconnect response carries no ping settings: keep LiveKit's defaults.
    const interval = (join.pingInterval || 5) * 1000;
    this.timeout = (join.pingTimeout || 15) * 1000;
    this.lastHeard = Date.now();
    this.pinger = setInterval(() => this.ping(), interval);
  }

  send(msg) {
    if (this.closed || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  ping() {
    if (Date.now() - this.lastHeard > this.timeout) {
      this.lost('no answer to pings');
      return;
    }
    this.send({ pingReq: { timestamp: Date.now(), rtt: this.rtt } });
  }

  heard() { this.lastHeard = Date.now(); }

  pong(p) {
    const sent = Number(p.lastPingTimestamp);
    if (sent) this.rtt = Date.now() - sent;
  }

  // lost ends a connection that failed, telling the owner once.
  lost(reason) {
    if (this.closed) return;
    this.close();
    this.onClose(reason);
  }

  // close ends the connection on purpose (leave, or before a rejoin).
  close() {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.pinger);
    this.ws.onclose = null;
    this.ws.onmessage = null;
    this.ws.close();
  }
}
