// The classroom page: reads the join link's token, shows the join card,
// then the class: stage, controls and side panel, for a teacher or a
// student alike (the panels differ by role).

import { Room } from './room.js';
import { Classroom, tokenClaims } from './classroom.js';
import { h, icon, toast, confirmDialog, Stage } from './ui.js';
import { Tabs, ChatPane, ClassPane, PollsPane, PeoplePane } from './panels.js';

const $ = (id) => document.getElementById(id);
const ROLE_NAMES = { teacher: 'Teacher', assistant: 'Assistant', student: 'Student', observer: 'Observer' };

// tokenFromLink finds the token in a join link: ?t=, #t= or #token=. A
// token in the query string is moved to the fragment so that reloading the
// page does not send it to the server again.
function tokenFromLink(href) {
  const url = new URL(href, location.href);
  const hash = new URLSearchParams(url.hash.slice(1));
  return url.searchParams.get('t') ?? url.searchParams.get('token') ?? hash.get('t') ?? hash.get('token');
}

function readToken() {
  const token = tokenFromLink(location.href);
  if (token && new URL(location.href).searchParams.has('t')) history.replaceState(null, '', `${location.pathname}#t=${token}`);
  return token;
}

// classTitle is the class's title from the token's metadata, which the
// classes' API fills in ({"role", "class", "title"}), else its id.
function classTitle(claims) {
  try {
    const title = JSON.parse(claims.metadata || '{}').title;
    if (title) return title;
  } catch { /* metadata that is not ours */ }
  return claims.video?.room ?? '';
}

// Media: the camera at up to 720p (simulcast sends it in three sizes),
// the microphone with the browser's voice processing, the screen at a
// frame rate that suits slides.
const media = {
  async camera() {
    const s = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } } });
    return s.getVideoTracks()[0];
  },
  async microphone() {
    const s = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true } });
    return s.getAudioTracks()[0];
  },
  async screen() {
    const s = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15 } }, audio: false });
    return s.getVideoTracks()[0];
  },
};

// Controls is the bar under the stage: microphone, camera and screen for
// whoever may publish, the hand for students, end class for teachers.
class Controls {
  constructor(room, classroom) {
    this.room = room;
    this.classroom = classroom;
    this.el = $('controls');
    this.busy = new Set(); // sources being switched
  }

  canPublish() { return !!this.room.me?.permission?.canPublish; }

  // toggle switches a source: publish it the first time, then mute and
  // unmute it (the screen is unpublished when stopped).
  async toggle(source) {
    if (this.busy.has(source)) return;
    this.busy.add(source);
    this.render();
    try {
      const t = this.room.local.get(source);
      if (source === 'screen' && t) await this.room.unpublish('screen');
      else if (!t) await this.start(source);
      else if (t.muted) await this.room.setMuted(source, false, source === 'camera' ? await media.camera() : null);
      else await this.room.setMuted(source, true);
    } catch (err) {
      toast(mediaError(source, err));
    } finally {
      this.busy.delete(source);
      this.render();
    }
  }

  async start(source) {
    const track = await media[source]();
    if (source === 'screen') track.addEventListener('ended', () => this.room.unpublish('screen'));
    try {
      await this.room.publish(source, track);
    } catch (err) {
      track.stop();
      throw err;
    }
  }

  render() {
    const { room, classroom } = this;
    const buttons = [];
    const state = (source) => {
      const t = room.local.get(source);
      return t && !t.muted ? 'on' : 'off';
    };
    const names = { microphone: ['Mute', 'Unmute'], camera: ['Stop video', 'Start video'], screen: ['Stop sharing', 'Share screen'] };
    const icons = { microphone: 'mic', camera: 'camera', screen: 'screen' };
    if (this.canPublish()) {
      const sources = classroom.staff ? ['microphone', 'camera', 'screen'] : ['microphone', 'camera'];
      for (const s of sources) {
        const on = state(s) === 'on';
        buttons.push(h(`button.control.${s === 'screen' ? (on ? 'on' : '') : on ? '' : 'off'}`, {
          dataset: { control: s }, disabled: this.busy.has(s), 'aria-pressed': String(on), onclick: () => this.toggle(s),
        }, icon(icons[s], !on && s !== 'screen'), h('span.text', {}, names[s][on ? 0 : 1])));
      }
    }
    if (classroom.role === 'student') {
      if (classroom.onStage(classroom.identity)) {
        buttons.push(h('button.control', { dataset: { control: 'leave-stage' }, onclick: () => this.leaveStage() }, icon('stage'), h('span.text', {}, 'Leave stage')));
      } else {
        const raised = classroom.handRaised;
        buttons.push(h(`button.control.hand${raised ? '.raised' : ''}`, {
          dataset: { control: 'hand' }, 'aria-pressed': String(raised),
          onclick: () => classroom.act('hand', { raised: !raised }).catch((err) => toast(err.message)),
        }, icon('hand'), h('span.text', {}, raised ? 'Lower hand' : 'Raise hand')));
      }
    }
    if (classroom.role === 'teacher') {
      buttons.push(h('button.control.end', { dataset: { control: 'end' }, onclick: () => this.endClass() }, icon('end'), h('span.text', {}, 'End class')));
    }
    this.el.replaceChildren(...buttons);
  }

  async leaveStage() {
    await this.classroom.act('stage.remove', { identity: this.classroom.identity }).catch((err) => toast(err.message));
  }

  async endClass() {
    if (await confirmDialog('End the class?', 'Everyone will leave the class, and it cannot be joined again.', 'End class', 'Keep teaching')) {
      this.classroom.act('end').catch((err) => toast(err.message));
    }
  }
}

function mediaError(source, err) {
  const what = { camera: 'camera', microphone: 'microphone', screen: 'screen share' }[source];
  if (err?.name === 'NotAllowedError') return `The browser did not allow the ${what}.`;
  if (err?.name === 'NotFoundError') return `No ${what} found.`;
  return `Could not start the ${what}: ${err?.message ?? err}`;
}

// StageFlow carries a student through an invitation: ask, accept, publish
// camera and microphone once the node grants it; stop when taken off.
class StageFlow {
  constructor(room, classroom, controls) {
    this.room = room;
    this.classroom = classroom;
    this.controls = controls;
    this.asking = false;
    this.publishing = false;
  }

  async update() {
    const { classroom, room } = this;
    if (classroom.staff) return;
    const me = classroom.identity;
    if (classroom.invited(me) && !this.asking) {
      this.asking = true;
      const yes = await confirmDialog('You are invited to the stage', 'Your teacher invites you to speak. Your camera and microphone will be on for the class.', 'Join the stage', 'Not now');
      await classroom.act(yes ? 'stage.accept' : 'stage.decline').catch((err) => toast(err.message));
      this.asking = false;
    }
    if (classroom.onStage(me) && this.controls.canPublish() && !this.publishing && !room.local.size) {
      this.publishing = true;
      for (const source of ['camera', 'microphone']) {
        await this.controls.start(source).catch((err) => toast(mediaError(source, err)));
      }
      this.controls.render();
    }
    if (!classroom.onStage(me)) this.publishing = false;
  }
}

// startClass shows the class view for a connected room.
function startClass(room, classroom) {
  $('join-view').hidden = true;
  $('class-view').hidden = false;
  $('leave').hidden = false;
  const stage = new Stage(room, classroom);
  const controls = new Controls(room, classroom);
  const flow = new StageFlow(room, classroom, controls);
  const chat = new ChatPane(room, classroom);
  const panes = [{ id: 'chat', title: 'Chat', pane: chat }];
  if (classroom.staff) panes.push({ id: 'class', title: 'Hands', pane: new ClassPane(room, classroom), count: () => classroom.state.hands.length });
  const polls = new PollsPane(room, classroom);
  panes.push({ id: 'polls', title: 'Polls', pane: polls, count: () => [...classroom.polls.values()].filter((p) => !p.closed && !p.answered && !classroom.staff).length });
  panes.push({ id: 'people', title: 'People', pane: new PeoplePane(room, classroom) });
  const tabs = new Tabs(panes);

  // Events come in bursts: render once per frame, or at once in a hidden
  // tab, where frames do not come.
  let scheduled = false;
  const renderNow = () => {
    scheduled = false;
    stage.render();
    controls.render();
    tabs.render();
    renderStatus(room);
  };
  const render = () => {
    if (document.hidden) return renderNow();
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(renderNow);
  };
  for (const type of ['participants', 'media', 'local', 'speakers', 'me']) room.addEventListener(type, render);
  for (const type of ['state', 'polls', 'chat']) classroom.addEventListener(type, render);
  classroom.addEventListener('state', () => flow.update());
  room.addEventListener('me', () => flow.update());
  classroom.addEventListener('notice', (e) => toast(e.detail.text));
  room.addEventListener('muted', (e) => { if (e.detail.muted) toast(`Your ${e.detail.source} was muted by the teacher.`); });
  const seenPolls = new Set();
  classroom.addEventListener('polls', () => {
    for (const p of classroom.polls.values()) {
      if (seenPolls.has(p.id)) continue;
      seenPolls.add(p.id);
      if (!classroom.staff && !p.closed && !p.answered && tabs.current !== 'polls') toast(`New poll: ${p.question}`);
    }
  });
  setInterval(renderNow, 5000); // "raised 2 min ago" and the like
  renderNow();
  window.bayan = { room, classroom, tabs }; // for the browser tests and the curious
}

function renderStatus(room) {
  const el = $('status');
  el.hidden = room.state !== 'connected';
  const poor = room.quality === 'POOR' || room.quality === 'LOST';
  el.textContent = poor ? 'Weak connection' : 'Live';
  el.classList.toggle('poor', poor);
}

function showEnd(message) {
  $('join-view').hidden = true;
  $('class-view').hidden = true;
  $('leave').hidden = true;
  $('status').hidden = true;
  $('banner').hidden = true;
  $('end-view').hidden = false;
  const ended = message === 'The class has ended.';
  $('end-title').textContent = ended ? 'The class has ended' : 'You are out of the class';
  $('end-text').textContent = ended ? 'Thank you for joining. You can close this page.' : message;
  $('rejoin').hidden = ended;
}

async function join(token, claims, publish) {
  const room = new Room(location.origin, token);
  const classroom = new Classroom(room, claims);
  room.addEventListener('state', (e) => {
    const { state, message } = e.detail;
    $('banner').hidden = state !== 'reconnecting';
    $('banner').textContent = 'Connection lost. Reconnecting…';
    if (state === 'closed' && !$('class-view').hidden) showEnd(message);
    renderStatus(room);
  });
  await room.join();
  startClass(room, classroom);
  $('leave').onclick = () => room.leave();
  window.addEventListener('pagehide', () => room.leave());
  const controls = [];
  if (publish.camera) controls.push('camera');
  if (publish.microphone) controls.push('microphone');
  for (const source of controls) {
    try {
      const track = await media[source]();
      await room.publish(source, track);
    } catch (err) {
      toast(mediaError(source, err));
    }
  }
}

// The join card: who the link is for, then Join (the click also lets the
// browser play the class's sound).
function main() {
  const form = $('join-form');
  const button = $('join-button');
  $('rejoin').onclick = () => location.reload();
  let token = readToken();
  const show = () => {
    const claims = token && tokenClaims(token);
    const expired = claims?.exp && claims.exp * 1000 < Date.now();
    $('paste').hidden = !!claims && !expired;
    if (!claims) {
      $('join-text').textContent = 'Open the join link your teacher or school sent you, or paste it here.';
      $('join-details').hidden = true;
      button.disabled = true;
      return null;
    }
    const role = claims.attributes?.['bayan.role'] || 'student';
    const title = classTitle(claims);
    $('join-title').textContent = claims.name ? `Welcome, ${claims.name}` : 'Join your class';
    $('join-text').textContent = expired ? 'This join link has expired. Ask for a new one.' : 'You are about to join:';
    $('join-details').hidden = false;
    $('join-details').replaceChildren(
      h('dt', {}, 'Class'), h('dd', {}, title),
      h('dt', {}, 'Name'), h('dd', {}, claims.name || claims.sub),
      h('dt', {}, 'Role'), h('dd', {}, ROLE_NAMES[role] ?? role));
    // A grant without canPublish lets one publish, as in LiveKit.
    $('join-media').hidden = claims.video?.canPublish === false || role === 'student' || role === 'observer';
    $('class-name').textContent = title;
    document.title = `${title} · Bayan`;
    button.disabled = !!expired;
    return claims;
  };
  let claims = show();
  $('paste-input').addEventListener('input', (e) => {
    const v = e.target.value.trim();
    token = v.startsWith('ey') ? v : tokenFromLink(v);
    claims = show();
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!claims) return;
    button.disabled = true;
    button.textContent = 'Joining…';
    $('join-error').textContent = '';
    try {
      await join(token, claims, {
        camera: !$('join-media').hidden && $('join-camera').checked,
        microphone: !$('join-media').hidden && $('join-mic').checked,
      });
    } catch (err) {
      $('join-error').textContent = err.message;
      button.disabled = false;
      button.textContent = 'Join class';
    }
  });
}

main();
