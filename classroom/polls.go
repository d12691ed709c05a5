package classroom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/livekit/protocol/livekit"

	"github.com/bayan-dev/bayan/store"
)

// Bounds of a poll: enough for a question put to a class, small enough to
// show on a phone.
const (
	minPollOptions = 2
	maxPollOptions = 10
	maxQuestion    = 300 // characters
	maxOption      = 100 // characters
	// recentClosedPolls is how many closed polls (the latest) a member
	// gets on joining, besides the open ones.
	recentClosedPolls = 5
)

// polls runs the class's polls: staff create and close them, students
// answer once. Store work runs on Live's jobs, never on the participant's
// goroutine; the reply comes when it is done.
type polls struct {
	live *Live
	// sendMu makes reading a tally and sending it one step, so that staff
	// see tallies in the order they were read: never one going back.
	sendMu sync.Mutex
}

func newPolls(l *Live) *polls { return &polls{live: l} }

// pollView is a poll as a member sees it in a `poll` event.
type pollView struct {
	ID       string   `json:"id"`
	Question string   `json:"question"`
	Options  []string `json:"options"`
	Multiple bool     `json:"multiple"`
	Closed   bool     `json:"closed"`
	// Tally and Voters are shown to staff always, to everyone once the
	// poll is closed.
	Tally    []int `json:"tally,omitempty"`
	Voters   *int  `json:"voters,omitempty"`
	Answered bool  `json:"answered"`
}

// view is t as m sees it; answered is whether m answered.
func view(t store.Tally, m member, answered bool) pollView {
	v := pollView{ID: t.Poll.ID, Question: t.Poll.Question, Options: t.Poll.Options, Multiple: t.Poll.Multiple,
		Closed: !t.Poll.Open(), Answered: answered}
	if m.staff() || v.Closed {
		v.Tally = t.Counts
		if v.Tally == nil {
			v.Tally = make([]int, len(t.Poll.Options))
		}
		voters := t.Voters
		v.Voters = &voters
	}
	return v
}

// sendPoll sends m the `poll` event for t.
func sendPoll(m member, t store.Tally, answered bool) {
	send(m.p, map[string]any{"event": "poll", "poll": view(t, m, answered)})
}

func (*polls) joined(*liveClass, member)                         {}
func (*polls) left(*liveClass, member)                           {}
func (*polls) data(*liveClass, member, *livekit.DataPacket) bool { return false }

// ready sends m the class's open polls and the latest closed ones.
func (ps *polls) ready(c *liveClass, m member) {
	ok := ps.live.spawn(m.p, func(ctx context.Context) {
		all, err := ps.live.store.ClassPolls(ctx, c.id)
		if err != nil {
			ps.live.log.Error("classroom: polls for a joining member", "class", c.id, "identity", m.identity(), "err", err)
			return
		}
		var show []store.Tally
		closed := 0
		for i := len(all) - 1; i >= 0; i-- {
			if all[i].Poll.Open() {
				show = append(show, all[i])
			} else if closed < recentClosedPolls {
				show = append(show, all[i])
				closed++
			}
		}
		if len(show) == 0 {
			return
		}
		answered := map[string]bool{}
		if m.role == store.RoleStudent {
			ids, err := ps.live.store.PollsAnswered(ctx, c.id, m.identity())
			if err != nil {
				ps.live.log.Error("classroom: polls answered", "class", c.id, "identity", m.identity(), "err", err)
				return
			}
			for _, id := range ids {
				answered[id] = true
			}
		}
		for i := len(show) - 1; i >= 0; i-- { // oldest first
			sendPoll(m, show[i], answered[show[i].Poll.ID])
		}
	})
	if !ok {
		ps.live.log.Warn("classroom: busy, polls not sent to a joining member", "class", c.id, "identity", m.identity())
	}
}

// pollAction is the body of the poll actions.
type pollAction struct {
	Question string   `json:"question"`
	Options  []string `json:"options"`
	Multiple bool     `json:"multiple"`
	Poll     string   `json:"poll"`
	Choices  []int    `json:"choices"`
}

func (ps *polls) act(c *liveClass, m member, a action) bool {
	var run func(ctx context.Context, in pollAction) error
	switch a.Name {
	case "poll.create":
		if !m.staff() {
			replyTo(m, a, errors.New("forbidden: only teachers and assistants create polls"))
			return true
		}
		run = func(ctx context.Context, in pollAction) error { return ps.create(ctx, c, m, in) }
	case "poll.answer":
		if m.role != store.RoleStudent {
			replyTo(m, a, errors.New("forbidden: only students answer polls"))
			return true
		}
		run = func(ctx context.Context, in pollAction) error { return ps.answer(ctx, c, m, in) }
	case "poll.close":
		if !m.staff() {
			replyTo(m, a, errors.New("forbidden: only teachers and assistants close polls"))
			return true
		}
		run = func(ctx context.Context, in pollAction) error { return ps.close(ctx, c, in) }
	default:
		return false
	}
	var in pollAction
	if err := json.Unmarshal(a.Raw, &in); err != nil {
		replyTo(m, a, fmt.Errorf("bad %s: %v", a.Name, err))
		return true
	}
	if !ps.live.spawn(m.p, func(ctx context.Context) { replyTo(m, a, run(ctx, in)) }) {
		replyTo(m, a, errors.New("busy: try again"))
	}
	return true
}

// create stores a new poll and shows it to everyone present.
func (ps *polls) create(ctx context.Context, c *liveClass, m member, in pollAction) error {
	q := strings.TrimSpace(in.Question)
	switch {
	case q == "":
		return errors.New("bad poll: the question is empty")
	case utf8.RuneCountInString(q) > maxQuestion:
		return fmt.Errorf("bad poll: the question is over %d characters", maxQuestion)
	case len(in.Options) < minPollOptions || len(in.Options) > maxPollOptions:
		return fmt.Errorf("bad poll: %d options, want %d to %d", len(in.Options), minPollOptions, maxPollOptions)
	}
	opts := make([]string, len(in.Options))
	seen := map[string]bool{}
	for i, o := range in.Options {
		o = strings.TrimSpace(o)
		switch {
		case o == "":
			return fmt.Errorf("bad poll: option %d is empty", i+1)
		case utf8.RuneCountInString(o) > maxOption:
			return fmt.Errorf("bad poll: option %d is over %d characters", i+1, maxOption)
		case seen[o]:
			return fmt.Errorf("bad poll: option %q is repeated", o)
		}
		seen[o] = true
		opts[i] = o
	}
	p, err := ps.live.store.CreatePoll(ctx, store.Poll{ClassID: c.id, Question: q, Options: opts,
		Multiple: in.Multiple, CreatedBy: m.identity()})
	if err != nil {
		return ps.storeError("create poll", c, err)
	}
	t := store.Tally{Poll: p, Counts: make([]int, len(p.Options))}
	ps.sendMu.Lock()
	defer ps.sendMu.Unlock()
	for _, o := range c.present() {
		sendPoll(o, t, false)
	}
	return nil
}

// classPoll returns the poll named, if it is one of the class's.
func (ps *polls) classPoll(ctx context.Context, c *liveClass, id string) (store.Poll, error) {
	if id == "" {
		return store.Poll{}, errors.New(`bad poll action: "poll" (its id) is required`)
	}
	p, err := ps.live.store.GetPoll(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && p.ClassID != c.id) {
		return store.Poll{}, fmt.Errorf("no poll %q in this class", id)
	}
	if err != nil {
		return store.Poll{}, ps.storeError("get poll", c, err)
	}
	return p, nil
}

// answer records m's answer, confirms it to m and shows staff the new
// tally.
func (ps *polls) answer(ctx context.Context, c *liveClass, m member, in pollAction) error {
	p, err := ps.classPoll(ctx, c, in.Poll)
	if err != nil {
		return err
	}
	if err := checkChoices(p, in.Choices); err != nil {
		return err
	}
	switch err := ps.live.store.AnswerPoll(ctx, p.ID, m.identity(), in.Choices); {
	case errors.Is(err, store.ErrConflict):
		return errors.New("already answered: a poll takes one answer")
	case errors.Is(err, store.ErrClosed):
		return errors.New("poll closed")
	case err != nil:
		return ps.storeError("answer poll", c, err)
	}
	ps.sendMu.Lock()
	defer ps.sendMu.Unlock()
	t, err := ps.live.store.PollTally(ctx, p.ID)
	if err != nil {
		// The answer is stored: the reply says so; staff see it with the
		// next tally.
		ps.live.log.Error("classroom: poll tally", "class", c.id, "poll", p.ID, "err", err)
		return nil
	}
	sendPoll(m, t, true)
	for _, o := range c.present() {
		if o.staff() {
			sendPoll(o, t, false)
		}
	}
	return nil
}

// checkChoices checks an answer against the poll: within range, no
// repeats, exactly one unless the poll takes several.
func checkChoices(p store.Poll, choices []int) error {
	if len(choices) == 0 || (!p.Multiple && len(choices) != 1) {
		if p.Multiple {
			return errors.New("bad answer: choose at least one option")
		}
		return errors.New("bad answer: choose exactly one option")
	}
	seen := map[int]bool{}
	for _, ch := range choices {
		if ch < 0 || ch >= len(p.Options) {
			return fmt.Errorf("bad answer: no option %d (options are 0 to %d)", ch, len(p.Options)-1)
		}
		if seen[ch] {
			return fmt.Errorf("bad answer: option %d chosen twice", ch)
		}
		seen[ch] = true
	}
	return nil
}

// close closes the poll and shows everyone present its results.
func (ps *polls) close(ctx context.Context, c *liveClass, in pollAction) error {
	p, err := ps.classPoll(ctx, c, in.Poll)
	if err != nil {
		return err
	}
	if err := ps.live.store.ClosePoll(ctx, p.ID, ps.live.now()); err != nil {
		return ps.storeError("close poll", c, err)
	}
	ps.sendMu.Lock()
	defer ps.sendMu.Unlock()
	t, err := ps.live.store.PollTally(ctx, p.ID)
	if err != nil {
		return ps.storeError("tally poll", c, err)
	}
	voters, err := ps.live.store.PollVoters(ctx, p.ID)
	if err != nil {
		return ps.storeError("voters of poll", c, err)
	}
	answered := make(map[string]bool, len(voters))
	for _, v := range voters {
		answered[v] = true
	}
	for _, o := range c.present() {
		sendPoll(o, t, answered[o.identity()])
	}
	return nil
}

// storeError logs a store failure and returns what the member is told.
func (ps *polls) storeError(what string, c *liveClass, err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("could not %s: no class %q in the store", what, c.id)
	case errors.Is(err, store.ErrInvalid):
		return fmt.Errorf("could not %s: %v", what, err)
	}
	ps.live.log.Error("classroom: "+what, "class", c.id, "err", err)
	return fmt.Errorf("could not %s: the class's store failed", what)
}
