package classroom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

	mu     sync.Mutex
	floors map[*liveClass]*floor
}

func newControls(l *Live) *controls {
	return &controls{live: l, floors: map[*liveClass]*floor{}}
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
	var err error
	switch a.Name {
	case "hand":
		err = f.hand(c, m, a)
	case "stage.invite":
		err = f.invite(c, m, a)
	case "stage.accept":
		err = f.accept(c, m, a)
	case "stage.decline":
		err = f.decline(c, m, a)
	case "stage.remove":
		err = f.removeFromStage(c, m, a)
	case "mute":
		err = f.mute(c, m, a)
	case "chat.lock":
		err = f.lockChat(c, m, a)
	case "spotlight":
		err = f.setSpotlight(c, m, a)
	case "end":
		f.end(c, m, a)
		return true
	default:
		return false // another feature's
	}
	replyTo(m, a, err)
	return true
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

// hand: {"raised": bool} raises or lowers the sender's own hand (students);
// {"identity": X, "raised": false} lowers a student's hand (staff).
func (f *controls) hand(c *liveClass, m member, a action) error {
	if m.role == RoleObserver {
		return notAllowed("observers cannot raise hands")
	}
	var in struct {
		Raised   *bool  `json:"raised"`
		Identity string `json:"identity"`
	}
	if err := decodePayload(a, &in); err != nil {
		return err
	}
	if in.Raised == nil {
		return badPayload(a, `"raised" (true or false) is required`)
	}
	raise := *in.Raised
	switch {
	case m.role == store.RoleStudent && in.Identity != "" && in.Identity != m.identity():
		return notAllowed("students raise and lower only their own hand")
	case m.staff() && raise:
		return notAllowed("only students raise hands")
	}
	fl := f.lockFloor(c)
	defer fl.mu.Unlock()
	who := m
	if m.staff() {
		t, err := findStudent(c, a, in.Identity)
		if err != nil {
			return err
		}
		who = t
	} else if !stillHere(c, m) {
		return errGone
	}
	if raise {
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
func (f *controls) invite(c *liveClass, m member, a action) error {
	if !m.staff() {
		return notAllowed("only teachers and assistants invite to the stage")
	}
	var in identityField
	if err := decodePayload(a, &in); err != nil {
		return err
	}
	fl := f.lockFloor(c)
	defer fl.mu.Unlock()
	t, err := findStudent(c, a, in.Identity)
	if err != nil {
		return err
	}
	if fl.stage.IsOn(t.identity()) {
		return badPayload(a, "%s is already on the stage", quoteIdentity(t.identity()))
	}
	if fl.stage.Invite(t.identity()) {
		t.p.UpdateInfo(nil, nil, map[string]string{StageAttribute: stageInvited}, nil)
		fl.broadcastLocked(c)
	}
	return nil
}

// accept: an invited student goes on the stage and may publish their
// camera and microphone from now on; their hand, answered, comes down.
func (f *controls) accept(c *liveClass, m member, a action) error {
	if m.role != store.RoleStudent {
		return notAllowed("only an invited student accepts an invitation to the stage")
	}
	fl := f.lockFloor(c)
	defer fl.mu.Unlock()
	if !stillHere(c, m) {
		return errGone
	}
	if fl.stage.IsOn(m.identity()) {
		return badPayload(a, "you are already on the stage")
	}
	if !fl.stage.Accept(m.identity()) {
		return badPayload(a, "you are not invited to the stage")
	}
	fl.hands.Lower(m.identity())
	grantStage(m.p)
	fl.broadcastLocked(c)
	return nil
}

// decline: an invited student turns the invitation down.
func (f *controls) decline(c *liveClass, m member, a action) error {
	if m.role != store.RoleStudent {
		return notAllowed("only an invited student declines an invitation to the stage")
	}
	fl := f.lockFloor(c)
	defer fl.mu.Unlock()
	if !stillHere(c, m) {
		return errGone
	}
	if !fl.stage.Decline(m.identity()) {
		return badPayload(a, "you are not invited to the stage")
	}
	m.p.UpdateInfo(nil, nil, map[string]string{StageAttribute: ""}, nil)
	fl.broadcastLocked(c)
	return nil
}

// removeFromStage: {"identity": X} takes X off the stage, or withdraws X's
// invitation (staff); a student sends it without identity (or with their
// own) to leave the stage. Publishing is withdrawn and the student's
// tracks are unpublished.
func (f *controls) removeFromStage(c *liveClass, m member, a action) error {
	if m.role == RoleObserver {
		return notAllowed("observers cannot change the stage")
	}
	var in identityField
	if err := decodePayload(a, &in); err != nil {
		return err
	}
	if m.role == store.RoleStudent && in.Identity != "" && in.Identity != m.identity() {
		return notAllowed("students may only take themselves off the stage")
	}
	fl := f.lockFloor(c)
	defer fl.mu.Unlock()
	t := m
	if m.staff() {
		var err error
		if t, err = findStudent(c, a, in.Identity); err != nil {
			return err
		}
	} else if !stillHere(c, m) {
		return errGone
	}
	switch fl.stage.Remove(t.identity()) {
	case stageOn:
		withdrawStage(t.p)
	case stageInvited:
		t.p.UpdateInfo(nil, nil, map[string]string{StageAttribute: ""}, nil)
	default:
		return badPayload(a, "%s is neither on the stage nor invited to it", quoteIdentity(t.identity()))
	}
	fl.broadcastLocked(c)
	return nil
}

// mute: {"identity": X} mutes student X's microphone, {"all": true} every
// student's (staff). Students unmute themselves, as in any meeting.
func (f *controls) mute(c *liveClass, m member, a action) error {
	if !m.staff() {
		return notAllowed("only teachers and assistants mute others")
	}
	var in struct {
		Identity string `json:"identity"`
		All      bool   `json:"all"`
	}
	if err := decodePayload(a, &in); err != nil {
		return err
	}
	var targets []member
	switch {
	case in.All && in.Identity != "":
		return badPayload(a, `give "identity" or "all", not both`)
	case in.All:
		for _, p := range c.present() {
			if p.role == store.RoleStudent {
				targets = append(targets, p)
			}
		}
	case in.Identity == "":
		return badPayload(a, `"identity" or "all": true is required`)
	default:
		t, err := findStudent(c, a, in.Identity)
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

// lockChat: {"locked": bool} keeps students' chat messages out, or lets
// them in again (staff).
func (f *controls) lockChat(c *liveClass, m member, a action) error {
	if !m.staff() {
		return notAllowed("only teachers and assistants lock the chat")
	}
	var in struct {
		Locked *bool `json:"locked"`
	}
	if err := decodePayload(a, &in); err != nil {
		return err
	}
	if in.Locked == nil {
		return badPayload(a, `"locked" (true or false) is required`)
	}
	fl := f.lockFloor(c)
	defer fl.mu.Unlock()
	if c.chatLocked.Swap(*in.Locked) != *in.Locked {
		fl.broadcastLocked(c)
	}
	return nil
}

// setSpotlight: {"identity": X} puts X in everyone's main view, "" clears
// it (staff).
func (f *controls) setSpotlight(c *liveClass, m member, a action) error {
	if !m.staff() {
		return notAllowed("only teachers and assistants spotlight")
	}
	var in struct {
		Identity *string `json:"identity"`
	}
	if err := decodePayload(a, &in); err != nil {
		return err
	}
	if in.Identity == nil {
		return badPayload(a, `"identity" is required ("" clears the spotlight)`)
	}
	id := *in.Identity
	fl := f.lockFloor(c)
	defer fl.mu.Unlock()
	if id != "" {
		if _, err := findMember(c, a, id); err != nil {
			return err
		}
	}
	if fl.spotlight != id {
		fl.spotlight = id
		fl.broadcastLocked(c)
	}
	return nil
}

// end: a teacher ends the class for everyone: the store marks it ended
// (no more join tokens), then the room closes. If the store cannot say so,
// nothing happens and the teacher is told, to try again. The store write
// runs on Live's jobs, off the teacher's goroutine.
func (f *controls) end(c *liveClass, m member, a action) {
	if m.role != store.RoleTeacher {
		replyTo(m, a, notAllowed("only teachers end the class"))
		return
	}
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
		replyTo(m, a, errors.New("busy: try again"))
	}
}
