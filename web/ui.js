// Small DOM helpers and the stage: the large tile, the strip of people on
// stage, remote audio, and the control bar.

import { roleOf, isStaff } from './classroom.js';

// h builds an element: h('button.btn.primary', {onclick}, 'Join').
// Props starting with "on" are listeners; value, checked, disabled and
// hidden are set as properties; anything else as attributes. Text children
// become text nodes, never HTML.
export function h(tag, props = {}, ...children) {
  const [name, ...classes] = tag.split('.');
  const el = document.createElement(name || 'div');
  if (classes.length) el.className = classes.join(' ');
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (['value', 'checked', 'disabled', 'hidden'].includes(k)) el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  el.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

// Icons: 24x24 strokes, drawn for this page.
const ICONS = {
  mic: '<path d="M12 3a3 3 0 0 0-3 3v5a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3z"/><path d="M18.5 11a6.5 6.5 0 0 1-13 0M12 17.5V21"/>',
  camera: '<rect x="2.5" y="6.5" width="13" height="11" rx="2"/><path d="M15.5 10.5l6-3.5v10l-6-3.5z"/>',
  screen: '<rect x="2.5" y="4" width="19" height="12.5" rx="2"/><path d="M8 20.5h8M12 16.5v4"/>',
  hand: '<path d="M8 12.5V6a1.5 1.5 0 0 1 3 0v5.5M11 11V4.5a1.5 1.5 0 0 1 3 0V11M14 11V6a1.5 1.5 0 0 1 3 0v6.5"/><path d="M17 9.5a1.5 1.5 0 0 1 3 0V14a7.5 7.5 0 0 1-7.5 7.5h-.8a7 7 0 0 1-5.3-2.5L3.3 15.4a1.5 1.5 0 0 1 2.3-1.9L8 16"/>',
  stage: '<path d="M4 20.5v-2a4 4 0 0 1 4-4h8a4 4 0 0 1 4 4v2"/><circle cx="12" cy="7.5" r="3.5"/>',
  end: '<path d="M9 20.5H5a1.5 1.5 0 0 1-1.5-1.5V5A1.5 1.5 0 0 1 5 3.5h4M16 16.5l4.5-4.5L16 7.5M20.5 12H9"/>',
  slash: '<path d="M3.5 3.5l17 17"/>',
};

export function icon(name, off = false) {
  const span = document.createElement('span');
  span.style.display = 'contents';
  // Constant markup from ICONS only: no outside text reaches innerHTML.
  span.innerHTML = `<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">${ICONS[name]}${off ? ICONS.slash : ''}</svg>`;
  return span.firstChild;
}

let toastTimer;
export function toast(text) {
  const el = document.getElementById('toast');
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 4500);
}

// confirmDialog shows a question with two buttons; resolves true for yes.
export function confirmDialog(title, text, yes, no) {
  const backdrop = document.getElementById('dialog');
  return new Promise((resolve) => {
    const done = (answer) => { backdrop.hidden = true; backdrop.replaceChildren(); resolve(answer); };
    backdrop.replaceChildren(h('div.dialog', { role: 'dialog', 'aria-modal': 'true' },
      h('h1', {}, title), h('p.muted', {}, text),
      h('div.buttons', {},
        h('button.btn', { onclick: () => done(false), dataset: { answer: 'no' } }, no),
        h('button.btn.primary', { onclick: () => done(true), dataset: { answer: 'yes' } }, yes))));
    backdrop.hidden = false;
  });
}

export const initials = (name) => name.split(/\s+/).filter(Boolean).slice(0, 2).map((w) => w[0].toUpperCase()).join('') || '?';

// Tile shows one person's video (or their initials), their name and state.
// For a remote video it reports its size to the room, which asks the node
// for the simulcast layer that fits: nothing while it is off screen.
class Tile {
  constructor(room) {
    this.room = room;
    this.video = h('video', { autoplay: true, playsinline: true });
    this.video.muted = true; // sound plays from the audio elements
    this.placeholder = h('div.placeholder');
    this.label = h('div.label');
    this.badge = h('div.badge', { hidden: true }, 'Hand raised');
    this.notice = h('div.notice', { hidden: true });
    this.el = h('div.tile', {}, this.placeholder, this.video, this.label, this.badge, this.notice);
    this.visible = true;
    this.resize = new ResizeObserver(() => this.report());
    this.resize.observe(this.el);
    this.intersect = new IntersectionObserver((entries) => {
      this.visible = entries.at(-1).isIntersecting;
      this.report();
    });
    this.intersect.observe(this.el);
  }

  // show renders a feed: {identity, name, source, sid, track, local, muted, hand, speaking, paused}.
  show(f) {
    Object.assign(this.el.dataset, { identity: f.identity, source: f.source });
    this.el.classList.toggle('speaking', !!f.speaking);
    const track = f.track && f.track.readyState === 'live' && !f.videoOff ? f.track : null;
    if (track && this.video.srcObject?.getVideoTracks()[0] !== track) {
      this.video.srcObject = new MediaStream([track]);
      this.video.play().catch(() => {});
    } else if (!track && this.video.srcObject) {
      this.video.srcObject = null;
    }
    this.video.hidden = !track;
    this.video.classList.toggle('mirror', !!f.local && f.source === 'camera');
    this.placeholder.replaceChildren(h('div', {}, h('div.avatar', {}, initials(f.name)),
      h('small', {}, f.videoOff ? 'Camera is off' : f.source === 'camera' ? 'No video yet' : '')));
    this.label.replaceChildren(...(f.micOff ? [icon('mic', true)] : []),
      h('span', {}, f.source === 'screen' ? `${f.name}'s screen` : f.local ? `${f.name} (you)` : f.name));
    this.badge.hidden = !f.hand;
    this.notice.hidden = !f.paused;
    this.notice.textContent = 'Paused';
    this.notice.title = 'Video paused: the connection is too slow for it right now';
    if (this.sid !== f.sid) {
      if (this.sid) this.room.setView(this.sid, null);
      this.sid = f.local ? null : f.sid;
    }
    this.report();
  }

  report() {
    if (!this.sid) return;
    const { clientWidth: width, clientHeight: height } = this.el;
    this.room.setView(this.sid, this.visible && width > 0 ? { width, height } : null);
  }

  remove() {
    this.resize.disconnect();
    this.intersect.disconnect();
    if (this.sid) this.room.setView(this.sid, null);
    this.video.srcObject = null;
    this.el.remove();
  }
}

// people lists everyone in the class as the stage sees them: the local
// participant first, then the others, each with the tracks to show.
export function people(room) {
  const list = [];
  if (room.me) list.push({ ...room.me, local: true });
  for (const p of room.participants.values()) list.push({ ...p, local: false });
  return list;
}

export const displayName = (p) => p?.name || p?.identity || 'Someone';
const SOURCES = { CAMERA: 'camera', SCREEN_SHARE: 'screen', MICROPHONE: 'microphone' };

// feed describes what a tile shows for a person and source.
function feed(room, classroom, p, source) {
  const base = {
    key: `${p.identity}:${source}`, identity: p.identity, name: displayName(p), source, local: p.local,
    hand: !!p.attributes?.['bayan.hand'], speaking: room.speakers.has(p.sid),
  };
  if (p.local) {
    const t = room.local.get(source);
    const mic = room.local.get('microphone');
    return { ...base, track: t?.track, videoOff: !!t?.muted, micOff: !mic || mic.muted, hand: classroom.handRaised };
  }
  const tracks = p.tracks ?? [];
  const info = tracks.find((t) => SOURCES[t.source] === source && t.type === 'VIDEO');
  const mic = tracks.find((t) => SOURCES[t.source] === 'microphone');
  return {
    ...base, sid: info?.sid, track: info && room.media.get(info.sid), videoOff: !!info?.muted,
    micOff: !mic || !!mic.muted, paused: info && room.paused.has(info.sid),
  };
}

const hasVideo = (room, p, source) => p.local
  ? room.local.has(source)
  : (p.tracks ?? []).some((t) => SOURCES[t.source] === source && t.type === 'VIDEO');

// Stage lays out the feeds: the spotlighted person, else the teacher's
// screen share, else the teacher's camera, large; the other staff and the
// students on stage in the strip.
export class Stage {
  constructor(room, classroom) {
    this.room = room;
    this.classroom = classroom;
    this.tiles = new Map(); // feed key -> Tile
    this.audio = new Map(); // track sid -> {el: <audio>, track}
    this.main = document.getElementById('main');
    this.strip = document.getElementById('strip');
    this.audioBox = document.getElementById('audio');
  }

  render() {
    const { room, classroom } = this;
    const all = people(room);
    const byIdentity = new Map(all.map((p) => [p.identity, p]));
    const teacher = all.find((p) => roleOf(p) === 'teacher') ?? all.find((p) => isStaff(roleOf(p)));
    const onStage = (p) => isStaff(roleOf(p)) || classroom.onStage(p.identity);

    let main = null;
    const spot = byIdentity.get(classroom.state.spotlight);
    if (spot) main = feed(room, classroom, spot, hasVideo(room, spot, 'screen') ? 'screen' : 'camera');
    else if (teacher && hasVideo(room, teacher, 'screen')) main = feed(room, classroom, teacher, 'screen');
    else if (teacher) main = feed(room, classroom, teacher, 'camera');

    const strip = [];
    for (const p of all) {
      if (!onStage(p)) continue;
      for (const source of ['camera', 'screen']) {
        if (main?.key === `${p.identity}:${source}`) continue;
        if (source === 'screen' && !hasVideo(room, p, 'screen')) continue;
        if (source === 'camera' && !hasVideo(room, p, 'camera') && !classroom.onStage(p.identity)) continue;
        strip.push(feed(room, classroom, p, source));
      }
    }

    const keep = new Set();
    const place = (f, box) => {
      let tile = this.tiles.get(f.key);
      if (!tile) this.tiles.set(f.key, tile = new Tile(room));
      keep.add(f.key);
      if (tile.el.parentElement !== box) box.append(tile.el);
      tile.show(f);
      return tile.el;
    };
    if (main) place(main, this.main);
    else this.main.replaceChildren(h('div.tile', {}, h('div.placeholder', {}, 'Waiting for the teacher…')));
    const stripEls = strip.map((f) => place(f, this.strip));
    stripEls.forEach((el, i) => { if (this.strip.children[i] !== el) this.strip.insertBefore(el, this.strip.children[i] ?? null); });
    for (const [key, tile] of this.tiles) {
      if (!keep.has(key)) { tile.remove(); this.tiles.delete(key); }
    }
    for (const el of [...this.main.children]) if (main && el !== this.tiles.get(main.key)?.el) el.remove();
    this.renderAudio();
  }

  // Every remote microphone (and screen audio) plays from its own element.
  renderAudio() {
    const keep = new Set();
    for (const [sid, track] of this.room.media) {
      if (track.kind !== 'audio') continue;
      keep.add(sid);
      const a = this.audio.get(sid);
      if (a?.track === track) continue;
      const el = a?.el ?? h('audio', { autoplay: true });
      el.srcObject = new MediaStream([track]);
      el.play().catch(() => {});
      this.audio.set(sid, { el, track });
      this.audioBox.append(el);
    }
    for (const [sid, { el }] of this.audio) {
      if (!keep.has(sid)) { el.srcObject = null; el.remove(); this.audio.delete(sid); }
    }
  }
}
