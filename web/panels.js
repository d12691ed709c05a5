// The side panel: chat, the teacher's class controls (hands, stage),
// polls, and the people in class with the attendance report.

import { h, toast, displayName, people } from './ui.js';
import { roleOf, isStaff } from './classroom.js';

const time = (ms) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
const ROLE_NAMES = { teacher: 'Teacher', assistant: 'Assistant', student: 'Student', observer: 'Observer' };

function ago(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  return `at ${time(ms)}`;
}

// act runs a classroom action from a button and shows a refusal.
function act(classroom, name, fields) {
  classroom.act(name, fields).catch((err) => toast(err.message));
}

// Tabs switches the panes of the side panel.
export class Tabs {
  constructor(panes) {
    this.panes = panes; // [{id, title, pane, count?}]
    this.nav = document.getElementById('tabs');
    this.box = document.getElementById('panels');
    this.buttons = new Map();
    for (const p of panes) {
      const count = h('span.count');
      const b = h('button.tab', { role: 'tab', dataset: { tab: p.id }, onclick: () => this.select(p.id) }, p.title, count);
      this.buttons.set(p.id, { b, count });
      this.nav.append(b);
      this.box.append(p.pane.el);
    }
    this.select(panes[0].id);
  }

  select(id) {
    for (const p of this.panes) {
      const on = p.id === id;
      p.pane.el.hidden = !on;
      this.buttons.get(p.id).b.setAttribute('aria-selected', String(on));
      if (on) p.pane.render();
    }
    this.current = id;
  }

  render() {
    for (const p of this.panes) {
      this.buttons.get(p.id).count.textContent = p.count?.() || '';
      if (p.id === this.current) p.pane.render();
    }
  }
}

// nameOf finds a display name for an identity among those present.
function nameOf(room, identity) {
  if (identity === room.me?.identity) return displayName(room.me);
  for (const p of room.participants.values()) if (p.identity === identity) return displayName(p);
  return identity;
}

function roleOfIdentity(room, identity) {
  if (identity === room.me?.identity) return roleOf(room.me);
  for (const p of room.participants.values()) if (p.identity === identity) return roleOf(p);
  return '';
}

export class ChatPane {
  constructor(room, classroom) {
    this.room = room;
    this.classroom = classroom;
    this.list = h('div.messages', { 'aria-live': 'polite' });
    this.input = h('input.input', { placeholder: 'Message the class', maxlength: '2000', 'aria-label': 'Chat message', autocomplete: 'off' });
    this.send = h('button.btn.primary', { type: 'submit' }, 'Send');
    this.form = h('form.composer', { onsubmit: (e) => { e.preventDefault(); this.submit(); } }, this.input, this.send);
    this.el = h('section.pane.chat', { role: 'tabpanel' }, this.list, this.form);
  }

  render() {
    const { room, classroom } = this;
    const stick = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
    const items = classroom.chat.map((m) => {
      const role = roleOfIdentity(room, m.identity);
      return h('div.message', { dataset: { id: m.id } },
        h('div', {}, h('span.who', {}, nameOf(room, m.identity)),
          isStaff(role) ? h('span.role', {}, ROLE_NAMES[role]) : null,
          h('span.when', {}, time(m.timestamp))),
        h('div.text', {}, m.message),
        classroom.staff ? h('button.btn.ghost.small.delete', { title: 'Delete message', onclick: () => classroom.deleteChat(m.id).catch((err) => toast(err.message)) }, 'Delete') : null);
    });
    this.list.replaceChildren(...(items.length ? items : [h('p.empty', {}, 'No messages yet. Say hello!')]));
    if (stick) this.list.scrollTop = this.list.scrollHeight;
    const observer = classroom.role === 'observer'; // watches, never writes
    const locked = observer || (classroom.state.chatLocked && !classroom.staff);
    this.input.disabled = this.send.disabled = locked;
    this.input.placeholder = observer ? 'Observers read the chat' : locked ? 'Chat is locked'
      : classroom.state.chatLocked ? 'Chat is locked for students' : 'Message the class';
  }

  async submit() {
    const text = this.input.value.trim();
    if (!text) return;
    this.input.value = '';
    try {
      await this.classroom.sendChat(text);
    } catch (err) {
      this.input.value = text;
      toast(`Message not sent: ${err.message}`);
    }
  }
}

// ClassPane is the teacher's: raised hands in order, who is on stage,
// and class-wide switches.
export class ClassPane {
  constructor(room, classroom) {
    this.room = room;
    this.classroom = classroom;
    this.el = h('section.pane', { role: 'tabpanel' });
  }

  render() {
    const { room, classroom } = this;
    const s = classroom.state;
    const hands = s.hands.map((hand) => h('li.row', { dataset: { hand: hand.identity } },
      h('div.name', {}, hand.name || nameOf(room, hand.identity), h('div.sub', {}, `Raised ${ago(hand.at)}`)),
      h('div.actions', {},
        h('button.btn.primary.small', { dataset: { action: 'stage.invite', identity: hand.identity }, onclick: () => act(classroom, 'stage.invite', { identity: hand.identity }) }, 'Invite'),
        h('button.btn.small', { dataset: { action: 'hand.lower', identity: hand.identity }, onclick: () => act(classroom, 'hand', { identity: hand.identity, raised: false }) }, 'Lower'))));
    const stage = [...s.stage.map((id) => [id, true]), ...s.invited.map((id) => [id, false])].map(([id, on]) =>
      h('li.row', { dataset: { stage: id } },
        h('div.name', {}, nameOf(room, id), ' ', on ? h('span.chip.live', {}, 'On stage') : h('span.chip', {}, 'Invited')),
        h('div.actions', {},
          on ? h('button.btn.small', { dataset: { action: 'spotlight', identity: id }, onclick: () => act(classroom, 'spotlight', { identity: s.spotlight === id ? '' : id }) }, s.spotlight === id ? 'Unspotlight' : 'Spotlight') : null,
          on ? h('button.btn.small', { dataset: { action: 'mute', identity: id }, onclick: () => act(classroom, 'mute', { identity: id }) }, 'Mute') : null,
          h('button.btn.danger.small', { dataset: { action: 'stage.remove', identity: id }, onclick: () => act(classroom, 'stage.remove', { identity: id }) }, on ? 'Remove' : 'Cancel'))));
    this.el.replaceChildren(
      h('h2', {}, 'Class'),
      h('div.toolbar', {},
        h('button.btn.small', { dataset: { action: 'mute.all' }, onclick: () => act(classroom, 'mute', { all: true }) }, 'Mute all students'),
        h('button.btn.small', { dataset: { action: 'chat.lock' }, onclick: () => act(classroom, 'chat.lock', { locked: !s.chatLocked }) }, s.chatLocked ? 'Unlock chat' : 'Lock chat'),
        s.spotlight ? h('button.btn.small', { onclick: () => act(classroom, 'spotlight', { identity: '' }) }, 'Clear spotlight') : null),
      h('p.muted', {}, `${s.students} student${s.students === 1 ? '' : 's'} present${s.chatLocked ? ' · chat locked' : ''}${s.spotlight ? ` · spotlight on ${nameOf(room, s.spotlight)}` : ''}`),
      h('h2', {}, `Raised hands (${s.hands.length})`),
      hands.length ? h('ul.list', {}, hands) : h('p.muted', {}, 'No hands raised.'),
      h('h2', {}, 'On stage'),
      stage.length ? h('ul.list', {}, stage) : h('p.muted', {}, 'Nobody on stage. Invite a student whose hand is raised.'));
  }
}

// PollsPane: staff create polls and watch the tally; students answer.
export class PollsPane {
  constructor(room, classroom) {
    this.room = room;
    this.classroom = classroom;
    this.cards = new Map(); // poll id -> {json, el}
    this.list = h('div');
    this.el = h('section.pane', { role: 'tabpanel' }, classroom.staff ? this.form() : null, this.list);
  }

  form() {
    const question = h('input.input', { placeholder: 'Ask a question', maxlength: '300', name: 'question' });
    const options = h('div.form');
    const addOption = (value = '') => {
      if (options.children.length >= 10) return;
      options.append(h('div.option-row', {}, h('input.input', { placeholder: `Option ${options.children.length + 1}`, maxlength: '100', value, name: 'option' })));
    };
    addOption();
    addOption();
    const multiple = h('input', { type: 'checkbox', name: 'multiple' });
    const submit = async (e) => {
      e.preventDefault();
      const opts = [...options.querySelectorAll('input')].map((i) => i.value.trim()).filter(Boolean);
      if (!question.value.trim() || opts.length < 2) return toast('A poll needs a question and at least two options.');
      try {
        await this.classroom.act('poll.create', { question: question.value.trim(), options: opts, multiple: multiple.checked });
        question.value = '';
        options.replaceChildren();
        addOption();
        addOption();
        multiple.checked = false;
      } catch (err) {
        toast(err.message);
      }
    };
    return h('form.form', { onsubmit: submit, id: 'poll-form' },
      h('h2', {}, 'New poll'), question, options,
      h('div.toolbar', {},
        h('button.btn.small', { type: 'button', onclick: () => addOption() }, 'Add option'),
        h('label.choice', {}, multiple, 'Several answers')),
      h('button.btn.primary', { type: 'submit' }, 'Start poll'),
      h('h2', {}, 'Polls'));
  }

  render() {
    const polls = [...this.classroom.polls.values()].reverse();
    if (!polls.length) {
      this.cards.clear();
      this.list.replaceChildren(h('p.muted', {}, this.classroom.staff ? 'No polls yet.' : 'No polls yet. Your teacher may start one.'));
      return;
    }
    const els = polls.map((p) => {
      const json = JSON.stringify(p);
      let card = this.cards.get(p.id);
      if (!card || card.json !== json) this.cards.set(p.id, card = { json, el: this.card(p) });
      return card.el;
    });
    this.list.replaceChildren(...els);
  }

  card(p) {
    const { classroom } = this;
    const head = h('h3', {}, p.question);
    const status = p.closed ? 'Closed' : classroom.staff ? 'Open' : p.answered ? 'Your answer is in' : 'Open';
    if (p.tally) {
      const total = p.tally.reduce((a, b) => a + b, 0);
      const bars = p.options.map((o, i) => {
        const n = p.tally[i] ?? 0;
        const pct = total ? Math.round((100 * n) / total) : 0;
        return h('div.bar', { dataset: { option: i } }, h('i', { style: `width:${pct}%` }), h('span', {}, o), h('span', {}, `${n} · ${pct}%`));
      });
      return h('div.poll', { dataset: { poll: p.id } }, head, bars,
        h('div.meta', {}, h('span', {}, `${status} · ${total} vote${total === 1 ? '' : 's'}`),
          classroom.staff && !p.closed ? h('button.btn.small', { onclick: () => act(classroom, 'poll.close', { poll: p.id }) }, 'Close poll') : null));
    }
    if (p.answered || p.closed || classroom.role !== 'student') {
      const text = p.closed ? 'This poll is closed.' : p.answered ? 'Thanks, your answer is in. Results appear when the poll closes.' : 'Students are answering.';
      return h('div.poll', { dataset: { poll: p.id } }, head, h('p.muted', {}, text));
    }
    const type = p.multiple ? 'checkbox' : 'radio';
    const inputs = p.options.map((o, i) => h('label.choice', {}, h('input', { type, name: `poll-${p.id}`, value: String(i) }), o));
    const submit = async (e) => {
      e.preventDefault();
      const choices = [...e.target.querySelectorAll('input:checked')].map((i) => Number(i.value));
      if (!choices.length) return toast('Pick an answer first.');
      try {
        await classroom.act('poll.answer', { poll: p.id, choices });
        const now = classroom.polls.get(p.id);
        if (now && !now.answered) {
          classroom.polls.set(p.id, { ...now, answered: true });
          this.render();
        }
      } catch (err) {
        toast(err.message);
      }
    };
    return h('form.poll', { dataset: { poll: p.id }, onsubmit: submit }, head, inputs,
      h('div.meta', {}, h('span', {}, p.multiple ? 'Pick one or more' : 'Pick one'), h('button.btn.primary.small', { type: 'submit' }, 'Answer')));
  }
}

// PeoplePane lists who is here; for staff, stage buttons per student and
// the attendance report.
export class PeoplePane {
  constructor(room, classroom) {
    this.room = room;
    this.classroom = classroom;
    this.report = h('div');
    this.el = h('section.pane', { role: 'tabpanel' });
  }

  render() {
    const { room, classroom } = this;
    const all = people(room).sort((a, b) => (isStaff(roleOf(b)) - isStaff(roleOf(a))) || displayName(a).localeCompare(displayName(b)));
    const rows = all.map((p) => {
      const role = roleOf(p);
      const student = role === 'student';
      const stage = classroom.onStage(p.identity) ? 'on' : classroom.invited(p.identity) ? 'invited' : '';
      const actions = classroom.staff && student && !p.local ? [
        stage ? h('button.btn.small', { onclick: () => act(classroom, 'stage.remove', { identity: p.identity }) }, stage === 'on' ? 'Off stage' : 'Cancel')
          : h('button.btn.small', { onclick: () => act(classroom, 'stage.invite', { identity: p.identity }) }, 'Invite'),
      ] : [];
      return h('li.row', { dataset: { person: p.identity } },
        h('div.name', {}, displayName(p), p.local ? h('span.sub', {}, ' (you)') : null),
        p.attributes?.['bayan.hand'] ? h('span.chip.hand', {}, 'Hand') : null,
        stage ? h('span.chip.live', {}, stage === 'on' ? 'On stage' : 'Invited') : null,
        role ? h('span.chip', {}, ROLE_NAMES[role] ?? role) : null,
        actions.length ? h('div.actions', {}, actions) : null);
    });
    this.el.replaceChildren(h('h2', {}, `In class (${all.length})`), h('ul.list', {}, rows));
    if (classroom.staff) {
      this.el.append(h('h2', {}, 'Attendance'),
        h('button.btn.small', { dataset: { action: 'attendance' }, onclick: () => this.loadReport() }, 'Show attendance report'),
        this.report);
    }
  }

  async loadReport() {
    this.report.replaceChildren(h('p.muted', {}, 'Loading…'));
    try {
      this.report.replaceChildren(attendanceTable(await this.classroom.attendance(), this.room));
    } catch (err) {
      this.report.replaceChildren(h('p.error', {}, `Could not load attendance: ${err.message}`));
    }
  }
}

// attendanceTable shows the report (GET /api/classes/{id}/attendance):
// each student and member of staff, when they first came, how long they
// were there, and whether they are here, absent, late or left early.
function attendanceTable(report, room) {
  const rows = [...(report.students ?? []), ...(report.staff ?? [])];
  if (!rows.length) return h('p.muted', {}, 'Nobody is expected or has come yet.');
  const status = (r) => (r.absent ? 'Absent' : [r.present ? 'Here' : 'Left', r.late ? 'late' : '', r.left_early ? 'left early' : ''].filter(Boolean).join(', '));
  return h('table.report', { id: 'attendance' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'First came'), h('th', {}, 'Time'), h('th', {}, 'Status'))),
    h('tbody', {}, rows.map((r) => h('tr', { dataset: { identity: r.identity } },
      h('td', {}, nameOf(room, r.identity), r.role !== 'student' ? h('span.role', {}, ROLE_NAMES[r.role] ?? r.role) : null),
      h('td', {}, r.first_join ? time(Date.parse(r.first_join)) : '–'),
      h('td', {}, r.absent ? '–' : `${Math.round(r.minutes_present ?? 0)} min`),
      h('td', {}, status(r))))));
}
