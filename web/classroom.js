// The classroom over a room: the class state the node sends (hands, stage,
// chat lock, spotlight), chat and polls. Actions and events are JSON on the
// data topic bayan.class: {"action": "hand", "id": "...", "raised": true}
// out, {"event": "state", ...} in. Chat is LiveKit's own ChatMessage so
// that LiveKit's chat components see the same messages.

export const TOPIC = 'bayan.class';
const LEGACY_CHAT_TOPIC = 'lk-chat-topic';
const ACTION_TIMEOUT = 15_000;
const MAX_CHAT = 500; // messages kept on screen

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

// tokenClaims reads a join token's payload, for display only: the node
// checks the signature, the page just wants the name, class and role.
export function tokenClaims(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const json = fromUtf8.decode(Uint8Array.from(atob(part), (c) => c.charCodeAt(0)));
    return JSON.parse(json);
  } catch {
    return null;
  }
}

// roleOf is a participant's class role, from the attribute its token set.
export const roleOf = (info) => info?.attributes?.['bayan.role'] ?? '';
export const isStaff = (role) => role === 'teacher' || role === 'assistant';

export function randomId() {
  const b = crypto.getRandomValues(new Uint8Array(12));
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
}

// Classroom's events: 'state' (class state changed), 'chat', 'polls',
// 'notice' ({text}: something to tell the user, such as a refused action).
export class Classroom extends EventTarget {
  constructor(room, claims) {
    super();
    this.room = room;
    this.identity = claims.sub;
    this.classId = claims.video?.room ?? '';
    this.role = claims.attributes?.['bayan.role'] || 'student';
    this.state = { chatLocked: false, spotlight: '', stage: [], invited: [], students: 0, hands: [], hand: false };
    this.polls = new Map(); // poll id -> poll, newest last
    this.chat = []; // {id, identity, timestamp, message}
    this.pending = new Map(); // action id -> {resolve, reject}
    room.addEventListener('data', (e) => this.onData(e.detail));
  }

  get staff() { return isStaff(this.role); }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }

  // act sends an action and resolves when the node says ok, or rejects
  // with the node's error.
  act(action, fields = {}) {
    const id = randomId();
    const msg = { action, id, ...fields };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      setTimeout(() => {
        if (this.pending.delete(id)) reject(new Error('The server did not answer. Try again.'));
      }, ACTION_TIMEOUT);
      this.room.sendData({ user: { topic: TOPIC, payload: utf8.encode(JSON.stringify(msg)) } }).catch((err) => {
        this.pending.delete(id);
        reject(err);
      });
    });
  }

  onData(pkt) {
    if (pkt.chat) return this.onChat(pkt.identity, pkt.chat);
    if (!pkt.user) return;
    let msg;
    try {
      msg = JSON.parse(fromUtf8.decode(pkt.user.payload));
    } catch {
      return;
    }
    if (pkt.user.topic === LEGACY_CHAT_TOPIC) {
      return this.onChat(pkt.identity, { id: msg.id, timestamp: msg.timestamp, message: msg.message, deleted: false });
    }
    if (pkt.user.topic === TOPIC) this.onEvent(msg);
  }

  onEvent(ev) {
    switch (ev.event) {
      case 'ok':
        this.pending.get(ev.id)?.resolve(ev);
        this.pending.delete(ev.id);
        return;
      case 'error': {
        const p = this.pending.get(ev.id);
        this.pending.delete(ev.id);
        if (p) return p.reject(new Error(ev.error));
        if (ev.action === 'chat') {
          // A chat message of ours the node refused (locked, too fast):
          // it was shown at once, so take it back.
          const i = this.chat.findIndex((m) => m.id === ev.id && m.identity === this.identity);
          if (i >= 0) this.chat.splice(i, 1);
          this.emit('chat');
          return this.emit('notice', { text: `Message not sent: ${ev.error}` });
        }
        return this.emit('notice', { text: ev.error });
      }
      case 'state':
        this.state = { ...this.state, ...ev, stage: ev.stage ?? [], invited: ev.invited ?? [], hands: ev.hands ?? [] };
        return this.emit('state');
      case 'poll':
        if (ev.poll?.id) {
          this.polls.set(ev.poll.id, ev.poll);
          this.emit('polls');
        }
        return;
    }
  }

  onChat(identity, c) {
    if (!c.id) return;
    const i = this.chat.findIndex((m) => m.id === c.id);
    if (c.deleted) {
      if (i >= 0) this.chat.splice(i, 1);
    } else if (i >= 0) {
      this.chat[i] = { ...this.chat[i], message: c.message };
    } else {
      this.chat.push({ id: c.id, identity, timestamp: Number(c.timestamp) || Date.now(), message: c.message });
      this.chat.sort((a, b) => a.timestamp - b.timestamp);
      if (this.chat.length > MAX_CHAT) this.chat.shift();
    }
    this.emit('chat');
  }

  // sendChat sends a chat message to everyone; the node relays it (it
  // never echoes our own messages, so they are shown at once).
  async sendChat(text) {
    const chat = { id: randomId(), timestamp: Date.now(), message: text };
    await this.room.sendData({ chat });
    this.onChat(this.identity, chat);
  }

  deleteChat(id) { return this.act('chat.delete', { message: id }); }

  // onStage, invited, handRaised: where a member stands in the class.
  onStage(identity) { return this.state.stage.includes(identity); }
  invited(identity) { return this.state.invited.includes(identity); }
  get handRaised() {
    return this.staff ? false : !!this.state.hand;
  }

  // attendance asks the classes' API for the class's attendance report
  // with our own join token.
  async attendance() {
    const res = await fetch(`${this.room.base}/api/classes/${encodeURIComponent(this.classId)}/attendance`, {
      headers: { Authorization: `Bearer ${this.room.token}` },
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(body.error || `The server answered ${res.status}`);
    return body;
  }
}
