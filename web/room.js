// A LiveKit room over the browser's own RTCPeerConnection, the way
// livekit-client joins at /rtc: two peer connections. On the subscriber
// connection the node offers (media and its data channels toward us) and
// we answer; on the publisher connection we offer our tracks, each announced
// first with an AddTrackRequest, and open the data channels we send on.
// Bayan also speaks LiveKit's single-connection mode, but that one joins
// with a binary protobuf join_request and m-sections asked for on demand:
// two connections keep every signal message JSON and each side's
// negotiation one-way, which is simpler to read and to get right.

import { openSignal, SignalError, leaveText } from './signal.js';
import { encodeDataPacket, decodeDataPacket } from './protobuf.js';

// The camera's simulcast layers, as livekit-client sends them: rids q, h, f
// at a quarter, half and full resolution.
const CAMERA_LAYERS = [
  { rid: 'q', quality: 'LOW', scale: 4, maxBitrate: 150_000 },
  { rid: 'h', quality: 'MEDIUM', scale: 2, maxBitrate: 500_000 },
  { rid: 'f', quality: 'HIGH', scale: 1, maxBitrate: 1_700_000 },
];
const SCREEN_BITRATE = 2_500_000;

// SOURCE maps our names of local sources to LiveKit's TrackSource.
const SOURCE = { camera: 'CAMERA', microphone: 'MICROPHONE', screen: 'SCREEN_SHARE' };

// How long a dropped participant can resume on the node (its reconnect
// grace is 20 s by default); after that only a fresh join works.
const RESUME_WINDOW = 15_000;
const ANSWER_TIMEOUT = 15_000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Room is one participant's session. Its events: 'state' ({state,
// message}: connecting, connected, reconnecting, closed), 'participants',
// 'me' (own info changed: permissions, attributes), 'media' (remote tracks
// arrived, left, paused), 'local' (own tracks), 'speakers', 'data'
// (a decoded DataPacket), 'muted' (the node muted one of our tracks).
export class Room extends EventTarget {
  constructor(base, token) {
    super();
    this.base = base;
    this.token = token;
    this.state = 'idle';
    this.me = null; // own ParticipantInfo
    this.participants = new Map(); // sid -> ParticipantInfo of the others
    this.media = new Map(); // track sid -> remote MediaStreamTrack
    this.paused = new Set(); // track sids the node paused (bandwidth)
    this.speakers = new Set(); // participant sids speaking now
    this.quality = 'EXCELLENT'; // our connection, as the node rates it
    this.views = new Map(); // track sid -> {width, height} shown, or null for hidden
    this.local = new Map(); // source -> {track, sid, sender, simulcast, muted}
    this.announced = new Map(); // cid -> {resolve, reject}: AddTrackRequests awaiting the node
    this.queue = Promise.resolve(); // signal messages, handled one at a time
    this.pub = this.sub = null;
    this.reconnections = { resumed: 0, rejoined: 0 }; // for the curious (and tests)
  }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }

  setState(state, message = '') {
    this.state = state;
    this.emit('state', { state, message });
  }

  // join connects for the first time; it rejects with a SignalError when
  // the node refuses the token.
  async join() {
    this.setState('connecting');
    try {
      const { signal, body } = await this.openSignal({});
      this.start(signal, body);
    } catch (err) {
      this.setState('closed', err.message);
      throw err;
    }
    this.setState('connected');
  }

  openSignal(extra) {
    return openSignal(this.base, { access_token: this.token, auto_subscribe: '1', ...extra }, {
      // Messages of a connection given up on (lost, replaced) are dropped.
      onMessage: (kind, body, from) => this.enqueue(() => from === this.signal && this.onSignal(kind, body)),
      onClose: (why) => this.onLost(why),
    });
  }

  // start begins a session from a join response: fresh peer connections.
  start(signal, join) {
    this.signal = signal;
    this.me = join.participant;
    this.roomInfo = join.room;
    this.participants.clear();
    for (const p of join.otherParticipants ?? []) this.participants.set(p.sid, p);
    this.media.clear();
    this.paused.clear();
    this.connect(join.iceServers ?? []);
    this.emit('me');
    this.emit('participants');
    this.emit('media');
  }

  enqueue(fn) {
    this.queue = this.queue.then(fn).catch((err) => console.warn('bayan: signal handling:', err));
  }

  send(msg) { return this.signal?.send(msg) ?? false; }

  // connect makes the two peer connections of a session.
  connect(iceServers) {
    const config = {
      iceServers: iceServers.map((s) => ({ urls: s.urls, username: s.username, credential: s.credential })),
      bundlePolicy: 'max-bundle',
    };
    this.closeConnections();
    this.pub = new RTCPeerConnection(config);
    this.sub = new RTCPeerConnection(config);
    this.early = new Map([[this.pub, []], [this.sub, []]]); // candidates before the remote description
    this.pubNegotiated = false;
    for (const [pc, target] of [[this.pub, 'PUBLISHER'], [this.sub, 'SUBSCRIBER']]) {
      pc.onicecandidate = (e) => {
        if (e.candidate) this.send({ trickle: { candidateInit: JSON.stringify(e.candidate), target } });
      };
      pc.onconnectionstatechange = () => {
        if (pc.connectionState === 'failed' && this.state === 'connected') this.onLost('media connection failed');
      };
    }
    this.sub.ontrack = (e) => this.onTrack(e);
    this.sub.ondatachannel = (e) => {
      e.channel.binaryType = 'arraybuffer';
      e.channel.onmessage = (m) => this.onData(m.data);
    };
  }

  closeConnections() {
    this.answerWaiter?.reject(new Error('connection replaced'));
    this.dc = this.dcLossy = null;
    this.pub?.close();
    this.sub?.close();
  }

  async onSignal(kind, m) {
    switch (kind) {
      case 'offer': return this.answerOffer(m);
      case 'answer': return this.onAnswer(m);
      case 'trickle': return this.addCandidate(m);
      case 'update': return this.onParticipants(m.participants ?? []);
      case 'trackPublished': return this.announced.get(m.cid)?.resolve(m.track);
      case 'trackUnpublished': return this.onLocalUnpublished(m.trackSid);
      case 'requestResponse': return this.onRequestResponse(m);
      case 'mute': return this.onServerMute(m);
      case 'subscribedQualityUpdate': return this.onSubscribedQualities(m);
      case 'speakersChanged':
        for (const s of m.speakers ?? []) s.active ? this.speakers.add(s.sid) : this.speakers.delete(s.sid);
        return this.emit('speakers');
      case 'streamStateUpdate':
        for (const s of m.streamStates ?? []) s.state === 'PAUSED' ? this.paused.add(s.trackSid) : this.paused.delete(s.trackSid);
        return this.emit('media');
      case 'connectionQuality':
        for (const u of m.updates ?? []) if (u.participantSid === this.me?.sid) this.quality = u.quality ?? 'POOR';
        return this.emit('me');
      case 'roomUpdate': this.roomInfo = m.room; return;
      case 'refreshToken': this.token = m; return;
      case 'pongResp': return this.signal?.pong(m);
      case 'leave': return this.onLeave(m);
    }
  }

  // The subscriber connection: the node offers, we answer.
  async answerOffer(sd) {
    await this.sub.setRemoteDescription({ type: 'offer', sdp: sd.sdp });
    await this.flushCandidates(this.sub);
    const answer = await this.sub.createAnswer();
    await this.sub.setLocalDescription(answer);
    this.send({ answer: { type: 'answer', sdp: answer.sdp } });
  }

  async onAnswer(sd) {
    const waiter = this.answerWaiter;
    try {
      await this.pub.setRemoteDescription({ type: 'answer', sdp: sd.sdp });
      await this.flushCandidates(this.pub);
      waiter?.resolve();
    } catch (err) {
      waiter?.reject(err);
    }
  }

  async addCandidate(t) {
    const pc = t.target === 'SUBSCRIBER' ? this.sub : this.pub; // PUBLISHER is 0: left out of the JSON
    const c = JSON.parse(t.candidateInit);
    if (!pc.remoteDescription) this.early.get(pc)?.push(c);
    else await pc.addIceCandidate(c);
  }

  async flushCandidates(pc) {
    const list = this.early.get(pc) ?? [];
    this.early.set(pc, []);
    for (const c of list) await pc.addIceCandidate(c);
  }

  // negotiate offers the publisher connection's current tracks and data
  // channels and waits for the answer. Calls made meanwhile are folded into
  // one more round.
  negotiate() {
    if (this.negotiation) {
      this.again = true;
      return this.negotiation;
    }
    const pc = this.pub;
    this.negotiation = (async () => {
      try {
        do {
          this.again = false;
          const offer = await pc.createOffer();
          await pc.setLocalDescription(offer);
          const answered = new Promise((resolve, reject) => {
            this.answerWaiter = { resolve, reject };
            setTimeout(() => reject(new Error('the server did not answer our offer')), ANSWER_TIMEOUT);
          });
          this.send({ offer: { type: 'offer', sdp: offer.sdp } });
          await answered;
          this.pubNegotiated = true;
        } while (this.again && pc === this.pub);
      } finally {
        this.negotiation = null;
        this.answerWaiter = null;
      }
    })();
    return this.negotiation;
  }

  // Participants the others are, as the node updates them.
  onParticipants(list) {
    for (const p of list) {
      if (p.sid === this.me?.sid) {
        this.me = p;
        this.emit('me');
        continue;
      }
      const old = this.participants.get(p.sid);
      if (old && Number(old.version ?? 0) > Number(p.version ?? 0)) continue;
      if (p.state === 'DISCONNECTED') this.participants.delete(p.sid);
      else this.participants.set(p.sid, p);
    }
    const live = new Set([...this.participants.values()].flatMap((p) => (p.tracks ?? []).map((t) => t.sid)));
    for (const sid of this.media.keys()) if (!live.has(sid)) this.media.delete(sid);
    this.emit('participants');
    this.emit('media');
  }

  // A remote track arrives on the subscriber connection; its stream id is
  // "participantSid|trackSid", its track id the track sid.
  onTrack(e) {
    const stream = e.streams[0];
    const sid = stream?.id.split('|')[1] || e.track.id;
    this.media.set(sid, e.track);
    stream?.addEventListener('removetrack', () => {
      if (this.media.get(sid) === e.track) {
        this.media.delete(sid);
        this.emit('media');
      }
    });
    if (e.track.kind === 'video') this.sendTrackSetting(sid);
    this.emit('media');
  }

  // setView tells the node how large a remote video is shown, in CSS
  // pixels, or that it is not shown (null): it forwards the simulcast layer
  // that fits, or nothing.
  setView(sid, size) {
    const prev = this.views.get(sid);
    if (size) size = { width: Math.round(size.width / 8) * 8, height: Math.round(size.height / 8) * 8 };
    if (prev === size || (prev && size && prev.width === size.width && prev.height === size.height)) return;
    this.views.set(sid, size);
    if (this.media.has(sid)) this.sendTrackSetting(sid);
  }

  sendTrackSetting(sid) {
    const v = this.views.get(sid);
    if (!v || !v.width) {
      this.send({ trackSetting: { trackSids: [sid], disabled: true } });
      return;
    }
    const dpr = Math.min(window.devicePixelRatio || 1, 2);
    this.send({ trackSetting: { trackSids: [sid], disabled: false, width: Math.round(v.width * dpr), height: Math.round(v.height * dpr) } });
  }

  // publish announces a local track (AddTrackRequest), waits for the node
  // to accept it, then sends it: the camera in three simulcast layers.
  async publish(source, track) {
    if (this.local.has(source)) await this.unpublish(source);
    const video = track.kind === 'video';
    const simulcast = source === 'camera';
    const { width = 0, height = 0 } = track.getSettings();
    const layers = !video ? [] : simulcast
      ? CAMERA_LAYERS
      : [{ rid: '', quality: 'HIGH', scale: 1, maxBitrate: SCREEN_BITRATE }];
    const cid = track.id;
    const req = {
      cid, name: source, type: video ? 'VIDEO' : 'AUDIO', source: SOURCE[source], width, height,
      layers: layers.map((l) => ({
        quality: l.quality, width: Math.round(width / l.scale), height: Math.round(height / l.scale),
        bitrate: l.maxBitrate, rid: l.rid,
      })),
    };
    const info = await new Promise((resolve, reject) => {
      this.announced.set(cid, { resolve, reject });
      if (!this.send({ addTrack: req })) reject(new Error('not connected'));
      setTimeout(() => reject(new Error('the server did not accept the track')), ANSWER_TIMEOUT);
    }).finally(() => this.announced.delete(cid));
    const init = { direction: 'sendonly', streams: [new MediaStream([track])] };
    if (simulcast) init.sendEncodings = CAMERA_LAYERS.map((l) => ({ rid: l.rid, scaleResolutionDownBy: l.scale, maxBitrate: l.maxBitrate }));
    else if (video) init.sendEncodings = [{ maxBitrate: SCREEN_BITRATE }];
    const { sender } = this.pub.addTransceiver(track, init);
    this.local.set(source, { track, sid: info.sid, sender, simulcast, muted: false });
    this.openDataChannels();
    this.emit('local');
    await this.negotiate();
  }

  // unpublish stops a local track and takes it off the connection; the
  // node notices the m-section go inactive and tells the room.
  async unpublish(source) {
    const t = this.local.get(source);
    if (!t) return;
    this.local.delete(source);
    t.track.stop();
    this.emit('local');
    if (this.pub?.signalingState !== 'closed') {
      this.pub.removeTrack(t.sender);
      await this.negotiate();
    }
  }

  // setMuted mutes or unmutes a local track. A muted camera is stopped
  // (its light goes off); unmuting it takes a fresh track from the caller.
  async setMuted(source, muted, freshTrack = null) {
    const t = this.local.get(source);
    if (!t) return;
    if (source === 'camera') {
      if (muted) {
        t.track.stop();
        await t.sender.replaceTrack(null);
      } else if (freshTrack) {
        t.track = freshTrack;
        await t.sender.replaceTrack(freshTrack);
      }
    } else {
      t.track.enabled = !muted;
    }
    t.muted = muted;
    this.send({ mute: { sid: t.sid, muted } });
    this.emit('local');
  }

  onServerMute(m) {
    const t = [...this.local.entries()].find(([, t]) => t.sid === m.sid);
    if (!t) return;
    const [source, track] = t;
    if (source !== 'camera') track.track.enabled = !m.muted;
    track.muted = !!m.muted;
    this.emit('local');
    this.emit('muted', { source, muted: !!m.muted });
  }

  // The node unpublished one of our tracks (permission withdrawn).
  onLocalUnpublished(sid) {
    const entry = [...this.local.entries()].find(([, t]) => t.sid === sid);
    if (entry) this.unpublish(entry[0]);
  }

  onRequestResponse(r) {
    if (r.addTrack) this.announced.get(r.addTrack.cid)?.reject(new Error(r.message || 'not allowed'));
  }

  // Dynacast: the node says which layers of our camera anybody watches, so
  // the encoder can stop the others.
  async onSubscribedQualities(u) {
    const t = [...this.local.values()].find((t) => t.sid === u.trackSid);
    if (!t?.simulcast) return;
    const on = new Set((u.subscribedQualities ?? []).filter((q) => q.enabled).map((q) => q.quality ?? 'LOW'));
    const params = t.sender.getParameters();
    let changed = false;
    for (const enc of params.encodings ?? []) {
      const layer = CAMERA_LAYERS.find((l) => l.rid === enc.rid);
      if (layer && enc.active !== on.has(layer.quality)) {
        enc.active = on.has(layer.quality);
        changed = true;
      }
    }
    if (changed) await t.sender.setParameters(params);
  }

  // The data channels we send on live on the publisher connection, which
  // is negotiated the first time something is published or sent.
  openDataChannels() {
    if (this.dc) return;
    this.dc = this.pub.createDataChannel('_reliable', { ordered: true });
    this.dcLossy = this.pub.createDataChannel('_lossy', { ordered: false, maxRetransmits: 0 });
  }

  // sendData sends a DataPacket ({user: {topic, payload}} or {chat}) on the
  // reliable channel, opening it first if needed.
  async sendData(packet) {
    this.openDataChannels();
    const dc = this.dc;
    if (!this.pubNegotiated) this.negotiate().catch(() => {});
    if (dc.readyState !== 'open') {
      await new Promise((resolve, reject) => {
        dc.addEventListener('open', resolve, { once: true });
        dc.addEventListener('close', () => reject(new Error('data channel closed')), { once: true });
        setTimeout(() => reject(new Error('data channel did not open')), ANSWER_TIMEOUT);
      });
    }
    dc.send(encodeDataPacket(packet));
  }

  onData(data) {
    try {
      this.emit('data', decodeDataPacket(new Uint8Array(data)));
    } catch (err) {
      console.warn('bayan: undecodable data packet', err);
    }
  }

  onLeave(leave) {
    const action = leave.action ?? 'DISCONNECT';
    if (action === 'DISCONNECT') return this.end(leaveText(leave));
    this.mustRejoin = action === 'RECONNECT';
    this.onLost('the server asked us to reconnect');
  }

  // onLost starts reconnecting after the signal connection (or a peer
  // connection) failed: resume the same session while the node still
  // holds it, else join afresh and publish again what we had published.
  onLost(why) {
    if (this.state !== 'connected') return;
    this.signal?.close();
    this.setState('reconnecting', why);
    this.reconnect();
  }

  async reconnect() {
    const lostAt = Date.now();
    for (let attempt = 0; attempt < 12; attempt++) {
      await sleep(Math.min(300 * 2 ** attempt, 5000));
      if (this.state !== 'reconnecting') return;
      const resume = !this.mustRejoin && Date.now() - lostAt < RESUME_WINDOW;
      try {
        if (resume) await this.resume();
        else await this.rejoin();
        this.reconnections[resume ? 'resumed' : 'rejoined']++;
        this.mustRejoin = false;
        this.setState('connected');
        return;
      } catch (err) {
        if (err instanceof SignalError && err.final) return this.end(err.message);
        if (err instanceof SignalError && err.reason === 'STATE_MISMATCH') this.mustRejoin = true;
        console.warn('bayan: reconnect attempt failed:', err.message);
      }
    }
    this.end('Could not reconnect to the class. Check your connection and join again.');
  }

  // resume re-attaches to the session the node keeps for us; the node
  // restarts ICE on the subscriber connection, we on the publisher one.
  async resume() {
    const { signal } = await this.openSignal({ reconnect: '1', sid: this.me.sid });
    this.signal = signal;
    if (this.pubNegotiated) {
      this.pub.restartIce();
      this.negotiate().catch((err) => console.warn('bayan: publisher ICE restart:', err));
    }
  }

  async rejoin() {
    const { signal, body } = await this.openSignal({});
    const republish = [...this.local.entries()].filter(([, t]) => t.track.readyState === 'live');
    this.local.clear();
    this.start(signal, body);
    for (const [source, t] of republish) {
      this.publish(source, t.track)
        .then(() => t.muted && this.setMuted(source, true))
        .catch((err) => { t.track.stop(); console.warn(`bayan: publish ${source} again:`, err); this.emit('local'); });
    }
  }

  // leave says goodbye to the node and ends the session.
  leave() {
    this.send({ leave: { reason: 'CLIENT_INITIATED', action: 'DISCONNECT' } });
    this.end('You left the class.');
  }

  end(message) {
    if (this.state === 'closed') return;
    this.signal?.close();
    for (const t of this.local.values()) t.track.stop();
    this.local.clear();
    this.closeConnections();
    this.setState('closed', message);
  }
}
