// Just enough protobuf to read and write LiveKit's DataPacket, which the
// data channels carry as binary protobuf. Field numbers are those of
// livekit_models.proto:
//
//   DataPacket   kind = 1 (enum, deprecated), user = 2 (UserPacket),
//                participant_identity = 4, destination_identities = 5,
//                chat_message = 9 (ChatMessage), participant_sid = 17
//   UserPacket   participant_sid = 1, payload = 2 (bytes), topic = 4,
//                participant_identity = 5, destination_identities = 6, id = 8
//   ChatMessage  id = 1, timestamp = 2 (int64, unix ms), edit_timestamp = 3,
//                message = 4, deleted = 5 (bool), generated = 6 (bool)
//
// Everything else in a packet (RPC, streams, transcriptions) is skipped.

const VARINT = 0, I64 = 1, LEN = 2, I32 = 5; // wire types

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

// Writer appends fields to a growing byte list.
class Writer {
  bytes = [];

  varint(n) { // a non-negative integer below 2^53
    while (n > 127) {
      this.bytes.push((n % 128) | 128);
      n = Math.floor(n / 128);
    }
    this.bytes.push(n);
  }

  tag(field, wire) { this.varint(field * 8 + wire); }

  uint(field, n) {
    if (n) { this.tag(field, VARINT); this.varint(n); }
  }

  bool(field, b) { this.uint(field, b ? 1 : 0); }

  raw(field, b) {
    this.tag(field, LEN);
    this.varint(b.length);
    for (const x of b) this.bytes.push(x);
  }

  string(field, s) { if (s) this.raw(field, utf8.encode(s)); }

  finish() { return Uint8Array.from(this.bytes); }
}

// fields splits a message into [field number, value] pairs: a number for
// varints, a Uint8Array for length-delimited fields. It throws on a
// truncated or malformed message.
function fields(buf) {
  const out = [];
  let i = 0;
  const varint = () => {
    let n = 0, mul = 1;
    for (let k = 0; k < 10; k++) {
      if (i >= buf.length) throw new Error('protobuf: truncated varint');
      const b = buf[i++];
      n += (b & 127) * mul;
      if (!(b & 128)) return n;
      mul *= 128;
    }
    throw new Error('protobuf: varint too long');
  };
  const skip = (n) => {
    if (i + n > buf.length) throw new Error('protobuf: truncated field');
    i += n;
  };
  while (i < buf.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    switch (key & 7) {
      case VARINT: out.push([field, varint()]); break;
      case LEN: {
        const len = varint();
        const start = i;
        skip(len);
        out.push([field, buf.subarray(start, i)]);
        break;
      }
      case I64: skip(8); break;
      case I32: skip(4); break;
      default: throw new Error(`protobuf: wire type ${key & 7}`);
    }
  }
  return out;
}

const text = (v) => fromUtf8.decode(v);

// encodeDataPacket encodes {user: {payload, topic}} or
// {chat: {id, timestamp, message, deleted}}, optionally addressed to
// destinationIdentities.
export function encodeDataPacket({ user, chat, destinationIdentities = [] }) {
  const w = new Writer();
  if (user) {
    const u = new Writer();
    u.raw(2, user.payload);
    if (user.topic !== undefined) u.raw(4, utf8.encode(user.topic)); // optional: present even when empty
    w.raw(2, u.finish());
  }
  for (const id of destinationIdentities) w.string(5, id);
  if (chat) {
    const c = new Writer();
    c.string(1, chat.id);
    c.uint(2, chat.timestamp);
    c.string(4, chat.message);
    c.bool(5, chat.deleted);
    w.raw(9, c.finish());
  }
  return w.finish();
}

// decodeDataPacket decodes what encodeDataPacket writes, plus the sender's
// identity that the server fills in: {identity, user?, chat?}.
export function decodeDataPacket(buf) {
  const pkt = { identity: '' };
  for (const [f, v] of fields(buf)) {
    if (f === 4 && v instanceof Uint8Array) pkt.identity = text(v);
    else if (f === 2 && v instanceof Uint8Array) {
      const user = { payload: new Uint8Array(0), topic: '', identity: '' };
      for (const [uf, uv] of fields(v)) {
        if (!(uv instanceof Uint8Array)) continue;
        if (uf === 2) user.payload = uv;
        else if (uf === 4) user.topic = text(uv);
        else if (uf === 5) user.identity = text(uv);
      }
      pkt.user = user;
    } else if (f === 9 && v instanceof Uint8Array) {
      const chat = { id: '', timestamp: 0, message: '', deleted: false, edited: false };
      for (const [cf, cv] of fields(v)) {
        if (cf === 1 && cv instanceof Uint8Array) chat.id = text(cv);
        else if (cf === 2 && typeof cv === 'number') chat.timestamp = cv;
        else if (cf === 3) chat.edited = true;
        else if (cf === 4 && cv instanceof Uint8Array) chat.message = text(cv);
        else if (cf === 5 && typeof cv === 'number') chat.deleted = cv !== 0;
      }
      pkt.chat = chat;
    }
  }
  if (pkt.user && !pkt.identity) pkt.identity = pkt.user.identity;
  return pkt;
}
