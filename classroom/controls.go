package classroom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/livekit/protocol/livekit"

	"github.com/bayan-dev/bayan/room"
	"github.com/bayan-dev/bayan/store"
)

// endTimeout bounds the store write that ends a class.
const endTimeout = 5 * time.Second

// controls is the feature that carries out the in-class actions: hands,
// the stage, muting, the chat lock, the spotlight and ending the class.
// Every action is checked against the sender's role (from its token) here,
// on the server; clients only ask.
type controls struct {
	live *Live

	// table holds the actions carried out, by name (controlTable).
	table map[string]control

	mu     sync.Mutex
	floors map[*liveClass]*floor
}

func newControls(l *Live) *controls {
	return &controls{live: l, table: controlTable(), floors: map[*liveClass]*floor{}}
}

// floorOf returns c's floor, creating it on first use; a class that has
// emptied gets a closed floor of its own, kept nowhere (a late action from
// someone who has left changes nothing).
func (f *controls) floorOf(c *liveClass) *floor {
	f.mu.Lock()
	defer f.mu.Unlock()
	fl := f.floors[c]
	if fl == nil {
		fl = &floor{}
		if len(c.present()) == 0 {
			fl.closed = true
			return fl
		}
		f.floors[c] = fl
	}
	return fl
}

// lockFloor returns c's floor locked. Who is present is looked up under
// this lock: a member's departure (left) clears their place under it too,
// so nothing is granted to someone already gone.
func (f *controls) lockFloor(c *liveClass) *floor {
	fl := f.floorOf(c)
	fl.mu.Lock()
	return fl
}

// stillHere reports whether m's session is still in the class; an action
// that arrives as its sender leaves is dropped.
func stillHere(c *liveClass, m member) bool {
	for _, o := range c.present() {
		if o.p == m.p {
			return true
		}
	}
	return false
}

// errGone answers (if it still can) an action from someone who has left.
var errGone = errors.New("you are no longer in the class")

func (f *controls) joined(c *liveClass, m member) {
	f.keepEndedClosed(c, m)
	if m.role != store.RoleStudent {
		return // only the students' count changes
	}
	fl := f.lockFloor(c)
	fl.broadcastSoonLocked(c)
	fl.mu.Unlock()
}

// keepEndedClosed sends away whoever joins a class that has ended: join
// tokens minted before the end stay valid for a while, and a student
// reloading the page must not reopen the class.
func (f *controls) keepEndedClosed(c *liveClass, m member) {
	f.live.spawn(m.p, func(ctx context.Context) {
		cl, err := f.live.store.GetClass(ctx, c.id)
		if err != nil || cl.State != store.ClassEnded {
			return // not a class of this store, or not over: nothing to keep closed
		}
		if c.room.Participant(m.identity()) == m.p {
			c.room.RemoveParticipant(m.identity(), livekit.DisconnectReason_ROOM_DELETED)
		}
	})
}

func (f *controls) ready(c *liveClass, m member) {
	fl := f.lockFloor(c)
	fl.sendLocked(c, m)
	fl.mu.Unlock()
}

// left takes the member's hand down, their place on (or invitation to) the
// stage and the spotlight: a student who comes back starts afresh, as
// their new session's permissions do.
func (f *controls) left(c *liveClass, m member) {
	fl := f.floorOf(c)
	id := m.identity()
	fl.mu.Lock()
	changed := fl.hands.Lower(id)
	changed = fl.stage.Remove(id) != "" || changed
	if fl.spotlight == id {
		fl.spotlight = ""
		changed = true
	}
	empty := len(c.present()) == 0
	switch {
	case empty:
		fl.closeLocked()
	case changed || m.role == store.RoleStudent:
		fl.broadcastSoonLocked(c)
	}
	fl.mu.Unlock()
	if empty {
		f.mu.Lock()
		if f.floors[c] == fl {
			delete(f.floors, c)
		}
		f.mu.Unlock()
	}
}

func (f *controls) data(*liveClass, member, *livekit.DataPacket) bool { return false }

func (f *controls) act(c *liveClass, m member, a action) bool {
	ctl, ok := f.table[a.Name]
	if !ok {
		return false // another feature's
	}
	err := f.carryOut(ctl, c, m, a)
	if err != nil || !ctl.repliesLater {
		replyTo(m, a, err)
	}
	return true
}

// carryOut runs one control in the order every control shares: the
// sender's role, the payload, then (floor locked) whether a student sender
// is still here, then the control's own work. The order fixes which error
// a client sees when several apply.
func (f *controls) carryOut(ctl control, c *liveClass, m member, a action) error {
	if !slices.Contains(ctl.roles, m.role) {
		return notAllowed(ctl.refusal)
	}
	do, err := ctl.prepare(m, a)
	if err != nil {
		return err
	}
	r := request{c: c, m: m, a: a}
	if ctl.floor {
		r.fl = f.lockFloor(c)
		defer r.fl.mu.Unlock()
	}
	if ctl.present && m.role == store.RoleStudent && !stillHere(c, m) {
		return errGone
	}
	return do(f, r)
}

// notAllowed is the answer to an action the sender's role does not allow.
func notAllowed(why string) error { return errors.New("forbidden: " + why) }

// badPayload is the answer to an action whose payload cannot be carried out.
func badPayload(a action, format string, args ...any) error {
	return fmt.Errorf("bad %s: %s", a.Name, fmt.Sprintf(format, args...))
}

// decodePayload reads the action's fields into v.
func decodePayload(a action, v any) error {
	if err := json.Unmarshal(a.Raw, v); err != nil {
		return badPayload(a, "%v", err)
	}
	return nil
}

// maxShownIdentity bounds an identity quoted back in an error.
const maxShownIdentity = 64

// quoteIdentity quotes an identity from a client for an error message.
func quoteIdentity(identity string) string {
	if len(identity) > maxShownIdentity {
		identity = identity[:maxShownIdentity] + "..."
	}
	return strconv.Quote(identity)
}

// findMember finds who an action names among the members present; observers
// are hidden, so they are never found.
func findMember(c *liveClass, a action, identity string) (member, error) {
	for _, m := range c.present() {
		if m.identity() == identity && m.role != RoleObserver {
			return m, nil
		}
	}
	return member{}, badPayload(a, "no one called %s is in the class", quoteIdentity(identity))
}

// findStudent finds the student an action names.
func findStudent(c *liveClass, a action, identity string) (member, error) {
	if identity == "" {
		return member{}, badPayload(a, `"identity" is required`)
	}
	t, err := findMember(c, a, identity)
	if err != nil {
		return member{}, err
	}
	if t.role != store.RoleStudent {
		return member{}, badPayload(a, "%s is not a student", quoteIdentity(identity))
	}
	return t, nil
}

// handPayload is the payload of "hand".
type handPayload struct {
	Raised   *bool  `json:"raised"`
	Identity string `json:"identity"`
}

// checkHand refuses a hand payload the sender may not send.
func checkHand(m member, a action, in *handPayload) error {
	if in.Raised == nil {
		return badPayload(a, `"raised" (true or false) is required`)
	}
	switch {
	case namesOther(m, in.Identity):
		return notAllowed("students raise and lower only their own hand")
	case m.staff() && *in.Raised:
		return notAllowed("only students raise hands")
	}
	return nil
}

// namesOther reports whether m is a student naming someone else, in an
// action students may send only about themselves.
func namesOther(m member, identity string) bool {
	return m.role == store.RoleStudent && identity != "" && identity != m.identity()
}

// actedOn returns whom an action students send about themselves acts on:
// the student sending it, or the student that staff name.
func actedOn(r request, identity string) (member, error) {
	if !r.m.staff() {
		return r.m, nil
	}
	return findStudent(r.c, r.a, identity)
}

// hand: {"raised": bool} raises or lowers the sender's own hand (students);
// {"identity": X, "raised": false} lowers a student's hand (staff).
func (f *controls) hand(r request, in *handPayload) error {
	c, fl := r.c, r.fl
	who, err := actedOn(r, in.Identity)
	if err != nil {
		return err
	}
	if *in.Raised {
		at := f.live.now()
		if fl.hands.Raise(who.identity(), who.p.Info().GetName(), at) {
			who.p.UpdateInfo(nil, nil, map[string]string{HandAttribute: strconv.FormatInt(at.UnixMilli(), 10)}, nil)
			fl.broadcastLocked(c)
		}
		return nil
	}
	if fl.hands.Lower(who.identity()) {
		who.p.UpdateInfo(nil, nil, map[string]string{HandAttribute: ""}, nil)
		fl.broadcastLocked(c)
	}
	return nil
}

// identityField is the payload of actions that name one participant.
type identityField struct {
	Identity string `json:"identity"`
}

// invite: {"identity": X} invites student X to the stage (staff).
func (f *controls) invite(r request, in *identityField) error {
	c, fl := r.c, r.fl
	t, err := findStudent(c, r.a, in.Identity)
	if err != nil {
		return err
	}
	if fl.stage.IsOn(t.identity()) {
		return badPayload(r.a, "%s is already on the stage", quoteIdentity(t.identity()))
	}
	if fl.stage.Invite(t.identity()) {
		t.p.UpdateInfo(nil, nil, map[string]string{StageAttribute: stageInvited}, nil)
		fl.broadcastLocked(c)
	}
	return nil
}

// accept: an invited student goes on the stage and may publish their
// camera and microphone from now on; their hand, answered, comes down.
func (f *controls) accept(r request) error {
	fl, m := r.fl, r.m
	if fl.stage.IsOn(m.identity()) {
		return badPayload(r.a, "you are already on the stage")
	}
	if !fl.stage.Accept(m.identity()) {
		return badPayload(r.a, "you are not invited to the stage")
	}
	fl.hands.Lower(m.identity())
	grantStage(m.p)
	fl.broadcastLocked(r.c)
	return nil
}

// decline: an invited student turns the invitation down.
func (f *controls) decline(r request) error {
	fl, m := r.fl, r.m
	if !fl.stage.Decline(m.identity()) {
		return badPayload(r.a, "you are not invited to the stage")
	}
	m.p.UpdateInfo(nil, nil, map[string]string{StageAttribute: ""}, nil)
	fl.broadcastLocked(r.c)
	return nil
}

// checkRemoveFromStage refuses a student naming someone else.
func checkRemoveFromStage(m member, _ action, in *identityField) error {
	if namesOther(m, in.Identity) {
		return notAllowed("students may only take themselves off the stage")
	}
	return nil
}

// removeFromStage: {"identity": X} takes X off the stage, or withdraws X's
// invitation (staff); a student sends it without identity (or with their
// own) to leave the stage. Publishing is withdrawn and the student's
// tracks are unpublished.
func (f *controls) removeFromStage(r request, in *identityField) error {
	c, fl := r.c, r.fl
	t, err := actedOn(r, in.Identity)
	if err != nil {
		return err
	}
	switch fl.stage.Remove(t.identity()) {
	case stageOn:
		withdrawStage(t.p)
	case stageInvited:
		t.p.UpdateInfo(nil, nil, map[string]string{StageAttribute: ""}, nil)
	default:
		return badPayload(r.a, "%s is neither on the stage nor invited to it", quoteIdentity(t.identity()))
	}
	fl.broadcastLocked(c)
	return nil
}

// mutePayload is the payload of "mute".
type mutePayload struct {
	Identity string `json:"identity"`
	All      bool   `json:"all"`
}

// checkMute refuses a mute that names no one, or both one and all.
func checkMute(_ member, a action, in *mutePayload) error {
	switch {
	case in.All && in.Identity != "":
		return badPayload(a, `give "identity" or "all", not both`)
	case !in.All && in.Identity == "":
		return badPayload(a, `"identity" or "all": true is required`)
	}
	return nil
}

// mute: {"identity": X} mutes student X's microphone, {"all": true} every
// student's (staff). Students unmute themselves, as in any meeting.
func (f *controls) mute(r request, in *mutePayload) error {
	var targets []member
	if in.All {
		for _, p := range r.c.present() {
			if p.role == store.RoleStudent {
				targets = append(targets, p)
			}
		}
	} else {
		t, err := findStudent(r.c, r.a, in.Identity)
		if err != nil {
			return err
		}
		targets = append(targets, t)
	}
	for _, t := range targets {
		muteMicrophones(t.p)
	}
	return nil
}

// muteMicrophones mutes p's published audio other than a screen share's,
// telling p (it shows the mute) and everyone else.
func muteMicrophones(p *room.Participant) {
	for _, t := range p.PublishedTracks() {
		info := t.Info()
		if info.GetType() != livekit.TrackType_AUDIO || info.GetSource() == livekit.TrackSource_SCREEN_SHARE_AUDIO {
			continue
		}
		// The track may have gone meanwhile: nothing left to mute.
		_ = p.SetTrackMuted(info.GetSid(), true, true)
	}
}

// lockChatPayload is the payload of "chat.lock".
type lockChatPayload struct {
	Locked *bool `json:"locked"`
}

// checkLockChat refuses a chat lock that says neither locked nor unlocked.
func checkLockChat(_ member, a action, in *lockChatPayload) error {
	if in.Locked == nil {
		return badPayload(a, `"locked" (true or false) is required`)
	}
	return nil
}

// lockChat: {"locked": bool} keeps students' chat messages out, or lets
// them in again (staff).
func (f *controls) lockChat(r request, in *lockChatPayload) error {
	if r.c.chatLocked.Swap(*in.Locked) != *in.Locked {
		r.fl.broadcastLocked(r.c)
	}
	return nil
}

// spotlightPayload is the payload of "spotlight"; a nil Identity is
// missing, "" clears the spotlight.
type spotlightPayload struct {
	Identity *string `json:"identity"`
}

// checkSpotlight refuses a spotlight that names no one.
func checkSpotlight(_ member, a action, in *spotlightPayload) error {
	if in.Identity == nil {
		return badPayload(a, `"identity" is required ("" clears the spotlight)`)
	}
	return nil
}

// setSpotlight: {"identity": X} puts X in everyone's main view, "" clears
// it (staff).
func (f *controls) setSpotlight(r request, in *spotlightPayload) error {
	c, fl := r.c, r.fl
	id := *in.Identity
	if id != "" {
		if _, err := findMember(c, r.a, id); err != nil {
			return err
		}
	}
	if fl.spotlight != id {
		fl.spotlight = id
		fl.broadcastLocked(c)
	}
	return nil
}

// errBusy answers an end the Live's jobs have no room for.
var errBusy = errors.New("busy: try again")

// end: a teacher ends the class for everyone: the store marks it ended
// (no more join tokens), then the room closes. If the store cannot say so,
// nothing happens and the teacher is told, to try again. The store write
// runs on Live's jobs, off the teacher's goroutine, which answers the
// teacher once done.
func (f *controls) end(r request) error {
	c, m, a := r.c, r.m, r.a
	ok := f.live.spawn(m.p, func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, endTimeout)
		at := f.live.now()
		cl, err := f.live.store.UpdateClassState(ctx, c.id, store.ClassEnded, at)
		cancel()
		if err != nil {
			f.live.log.Error("classroom: end class", "class", c.id, "by", m.identity(), "err", err)
			replyTo(m, a, fmt.Errorf("could not end the class: %w", err))
			return
		}
		logStateChange(f.live.log, cl, at, m.identity())
		// The ok may not make it out before the room closes: the
		// disconnection (ROOM_DELETED) is what tells everyone.
		replyTo(m, a, nil)
		c.room.Close(livekit.DisconnectReason_ROOM_DELETED)
	})
	if !ok {
		return errBusy
	}
	return nil
}
