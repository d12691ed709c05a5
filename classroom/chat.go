package classroom

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/livekit/protocol/livekit"

	"github.com/bayan-dev/bayan/room"
	"github.com/bayan-dev/bayan/store"
)

const (
	// maxChatChars bounds a chat message's text, in characters.
	maxChatChars = 2000
	// maxChatBytes bounds it in bytes (UTF-8: at most 4 a character).
	maxChatBytes = 4 * maxChatChars
	// maxChatID bounds the id a client gives a message.
	maxChatID = 128

	// chatBurst messages a student may send at once, refilled over
	// chatPeriod (staff are not limited).
	chatBurst  = 5
	chatPeriod = 10 * time.Second

	// chatQueue bounds the chat work waiting for the store in one class;
	// beyond it, messages are refused as busy rather than queued.
	chatQueue = 512
	// chatJobTimeout bounds one store call of the chat.
	chatJobTimeout = 5 * time.Second
	// recentChatIDs is how many recently accepted message ids a class
	// remembers, to recognise the same message arriving in a second form
	// (the components send a text stream and a legacy packet).
	recentChatIDs = 256
)

// errChatRateLimited refuses a student's message beyond chatBurst.
var errChatRateLimited = fmt.Errorf("rate limited: at most %d messages in %v", chatBurst, chatPeriod)

// chat is the class chat: it takes the chat messages members send in any
// of LiveKit's chat forms, checks them (role, chat lock, size, rate),
// stores them, and only then relays them; it sends the recent history to
// each member when its channel opens, and deletes messages for staff
// (chat.delete). Store calls run on one goroutine per class, which also
// orders every chat packet the class receives from the server.
type chat struct {
	store *store.Store
	log   *slog.Logger
	now   func() time.Time

	ctx    context.Context // ends with close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the classes' workers

	mu      sync.Mutex
	classes map[*liveClass]*classChat
	closed  bool
}

func newChat(st *store.Store, log *slog.Logger) *chat {
	ctx, cancel := context.WithCancel(context.Background())
	return &chat{store: st, log: log, now: time.Now, ctx: ctx, cancel: cancel, classes: map[*liveClass]*classChat{}}
}

// classChat is the chat of one class in session.
type classChat struct {
	c     *liveClass
	limit *rateLimit

	mu      sync.Mutex
	jobs    chan func(ctx context.Context) // run in order by the class's worker
	stopped bool
	// synced are the members that have had the history: live messages
	// go to them only, so that nobody gets a message twice or misses one
	// between the history and the live flow.
	synced map[*room.Participant]bool
	// waiting are the members whose channel opened and who wait for the
	// history; one queued job (historyQueued) serves them all with one
	// read, however many join at once.
	waiting       map[*room.Participant]bool
	historyQueued bool
	streams       map[*room.Participant]*chatStreams
	recent        map[string]*recentChat // by message id
	order         []string               // recent's ids, oldest first
}

// recentChat is a message accepted lately, known by its id.
type recentChat struct {
	sender string
	text   string
	// forms are those it has come in, each relayed once: the components
	// send one message in two, and a form again is a re-send.
	forms [chatForms]bool
	state recentState
	at    time.Time // the stored message's time
}

type recentState int

const (
	recentPending recentState = iota // queued for the store
	recentStored
	recentGone   // refused by the store (its id taken), or deleted since
	recentFailed // not stored for want of the store: the same id again is a new try
)

// class returns c's chat, starting its worker on first use; nil once the
// chat is closed.
func (ch *chat) class(c *liveClass) *classChat {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.closed {
		return nil
	}
	cc := ch.classes[c]
	if cc == nil {
		cc = &classChat{
			c:       c,
			limit:   newRateLimit(chatBurst, chatPeriod),
			jobs:    make(chan func(context.Context), chatQueue),
			synced:  map[*room.Participant]bool{},
			waiting: map[*room.Participant]bool{},
			streams: map[*room.Participant]*chatStreams{},
			recent:  map[string]*recentChat{},
		}
		ch.classes[c] = cc
		ch.wg.Add(1)
		go ch.work(cc)
	}
	return cc
}

// work runs cc's jobs in order until cc stops.
func (ch *chat) work(cc *classChat) {
	defer ch.wg.Done()
	for job := range cc.jobs {
		ctx, cancel := context.WithTimeout(ch.ctx, chatJobTimeout)
		job(ctx)
		cancel()
	}
}

// submit queues job for cc's worker; false when the queue is full or the
// chat stopped.
func (cc *classChat) submit(job func(ctx context.Context)) bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.stopped {
		return false
	}
	select {
	case cc.jobs <- job:
		return true
	default:
		return false
	}
}

// stop ends cc's worker once the jobs queued are done.
func (cc *classChat) stop() {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if !cc.stopped {
		cc.stopped = true
		close(cc.jobs)
	}
}

// close stops every class's chat and waits for the workers; store calls
// still running are cancelled. The node calls it once rooms are closed.
func (ch *chat) close() {
	ch.mu.Lock()
	ch.closed = true
	for c, cc := range ch.classes {
		cc.stop()
		delete(ch.classes, c)
	}
	ch.mu.Unlock()
	ch.cancel()
	ch.wg.Wait()
}

func (ch *chat) joined(*liveClass, member) {}

// left forgets m, and the class's chat once the class is empty.
func (ch *chat) left(c *liveClass, m member) {
	ch.mu.Lock()
	cc := ch.classes[c]
	if cc != nil && len(c.present()) == 0 {
		delete(ch.classes, c)
		cc.stop()
	}
	ch.mu.Unlock()
	if cc == nil {
		return
	}
	cc.mu.Lock()
	delete(cc.synced, m.p)
	delete(cc.waiting, m.p)
	delete(cc.streams, m.p)
	cc.mu.Unlock()
}

// data takes the chat packets, in any of their forms; everything else is
// left to the room.
func (ch *chat) data(c *liveClass, m member, pkt *livekit.DataPacket) bool {
	now := ch.now()
	switch v := pkt.GetValue().(type) {
	case *livekit.DataPacket_ChatMessage:
		in, err := chatMessageIn(v.ChatMessage)
		ch.receive(c, m, pkt, in, err)
	case *livekit.DataPacket_User:
		if v.User.GetTopic() != legacyChatTopic {
			return false
		}
		in, err := legacyIn(v.User.GetPayload())
		ch.receive(c, m, pkt, in, err)
	case *livekit.DataPacket_StreamHeader:
		if v.StreamHeader.GetTopic() != chatStreamTopic {
			return false
		}
		var in *chatIn
		var err error
		ch.withStreams(c, m, func(s *chatStreams) { in, err = s.header(v.StreamHeader, now) })
		ch.receiveStream(c, m, pkt, v.StreamHeader.GetStreamId(), in, err)
	case *livekit.DataPacket_StreamChunk:
		var known bool
		var err error
		ch.withStreams(c, m, func(s *chatStreams) { known, err = s.chunk(v.StreamChunk, now) })
		if !known {
			return false
		}
		ch.receiveStream(c, m, pkt, v.StreamChunk.GetStreamId(), nil, err)
	case *livekit.DataPacket_StreamTrailer:
		var known bool
		var in *chatIn
		var err error
		ch.withStreams(c, m, func(s *chatStreams) { known, in, err = s.trailer(v.StreamTrailer, now) })
		if !known {
			return false
		}
		ch.receiveStream(c, m, pkt, v.StreamTrailer.GetStreamId(), in, err)
	default:
		return false
	}
	return true
}

// withStreams runs fn on m's chat streams.
func (ch *chat) withStreams(c *liveClass, m member, fn func(*chatStreams)) {
	cc := ch.class(c)
	if cc == nil {
		fn(&chatStreams{}) // closing: nothing is kept
		return
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	s := cc.streams[m.p]
	if s == nil {
		s = &chatStreams{}
		cc.streams[m.p] = s
	}
	fn(s)
}

// receiveStream goes on with a stream packet: a refusal is answered, a
// complete message received.
func (ch *chat) receiveStream(c *liveClass, m member, pkt *livekit.DataPacket, id string, in *chatIn, err error) {
	switch {
	case err != nil:
		refuse(m, id, err)
	case in != nil:
		ch.receive(c, m, pkt, in, nil)
	}
}

// refuse answers a refused chat message to its sender; nothing changed.
func refuse(m member, id string, err error) {
	replyTo(m, action{Name: "chat", ID: id}, err)
}

// check says why m may not send in to class c now, or nil.
func (ch *chat) check(c *liveClass, m member, pkt *livekit.DataPacket, in *chatIn) error {
	if len(pkt.GetDestinationIdentities()) > 0 || len(pkt.GetUser().GetDestinationIdentities()) > 0 ||
		len(pkt.GetUser().GetDestinationSids()) > 0 {
		return errors.New("bad chat message: chat goes to the whole class, not to chosen members")
	}
	switch {
	case m.role == RoleObserver:
		return errors.New("forbidden: observers cannot chat")
	case m.role == store.RoleStudent && c.chatLocked.Load():
		return errors.New("forbidden: the chat is locked")
	case !m.staff() && m.role != store.RoleStudent:
		return errors.New("forbidden: only members of the class chat")
	}
	switch {
	case len(in.id) > maxChatID:
		return fmt.Errorf("bad chat message: id longer than %d bytes", maxChatID)
	case !utf8.ValidString(in.text):
		return errors.New("bad chat message: text is not UTF-8")
	case strings.TrimSpace(in.text) == "":
		return errors.New("bad chat message: empty")
	case len(in.text) > maxChatBytes || utf8.RuneCountInString(in.text) > maxChatChars:
		return fmt.Errorf("bad chat message: longer than %d characters", maxChatChars)
	}
	return nil
}

// receive takes a chat message m sent (or the error reading it): checked,
// then stored, then relayed, each in turn, or refused with nothing
// changed.
func (ch *chat) receive(c *liveClass, m member, pkt *livekit.DataPacket, in *chatIn, err error) {
	if err == nil {
		err = ch.check(c, m, pkt, in)
	}
	if err != nil {
		refuse(m, in.id, err)
		return
	}
	cc := ch.class(c)
	if cc == nil {
		refuse(m, in.id, errors.New("chat unavailable: the class is closing"))
		return
	}
	sender := m.identity()

	cc.mu.Lock()
	if r := cc.recent[in.id]; in.id != "" && r != nil && r.state != recentFailed {
		if r.sender != sender || r.text != in.text {
			cc.mu.Unlock()
			refuse(m, in.id, errors.New("bad chat message: message id already used"))
			return
		}
		if r.forms[in.form] {
			// A re-send: nothing goes out again, but it costs a student
			// what a new message does, so that re-sending is no way
			// around the limit.
			limited := m.role == store.RoleStudent && !cc.limit.allow(sender, ch.now())
			cc.mu.Unlock()
			if limited {
				refuse(m, in.id, errChatRateLimited)
			}
			return
		}
		r.forms[in.form] = true
		cc.mu.Unlock()
		// The same message in another form: relayed as this form too,
		// once the first is stored, and neither stored nor counted again.
		if !cc.submit(func(context.Context) {
			cc.mu.Lock()
			state, at := r.state, r.at
			cc.mu.Unlock()
			if state == recentStored {
				ch.relay(cc, m.p, in, at)
			}
		}) {
			refuse(m, in.id, errors.New("chat busy: try again"))
		}
		return
	}
	if m.role == store.RoleStudent && !cc.limit.allow(sender, ch.now()) {
		cc.mu.Unlock()
		refuse(m, in.id, errChatRateLimited)
		return
	}
	if in.id == "" {
		in.id = newChatID()
	}
	r := &recentChat{sender: sender, text: in.text}
	r.forms[in.form] = true
	cc.remember(in.id, r)
	cc.mu.Unlock()

	name := m.p.Info().GetName()
	if !cc.submit(func(ctx context.Context) { ch.store1(ctx, cc, m, in, name, r) }) {
		cc.mu.Lock()
		r.state = recentFailed
		cc.mu.Unlock()
		refuse(m, in.id, errors.New("chat busy: try again"))
	}
}

// store1 stores one accepted message and then relays it (on the worker).
func (ch *chat) store1(ctx context.Context, cc *classChat, m member, in *chatIn, name string, r *recentChat) {
	msg, err := ch.store.AddChatMessage(ctx, store.ChatMessage{
		ClassID: cc.c.id, Sender: m.identity(), SenderName: name, Body: in.text, ClientID: in.id,
	})
	resent, failed := false, false
	if errors.Is(err, store.ErrConflict) {
		// Known to the store but no longer remembered here: the same
		// message again is a re-send, relayed when it was stored;
		// anything else under its id is refused.
		prev, perr := ch.store.ChatByClientID(ctx, cc.c.id, in.id)
		if perr == nil && prev.Sender == m.identity() && prev.Body == in.text && !prev.Deleted {
			msg, err, resent = prev, nil, true
		} else {
			err = errors.New("bad chat message: message id already used")
		}
	} else if err != nil {
		ch.log.Warn("classroom: chat message not stored", "class", cc.c.id, "identity", m.identity(), "err", err)
		err, failed = errors.New("chat unavailable: the message was not stored"), true
	}
	cc.mu.Lock()
	switch {
	case failed:
		r.state = recentFailed
	case err != nil:
		r.state = recentGone
	default:
		r.state, r.at = recentStored, msg.CreatedAt
	}
	cc.mu.Unlock()
	switch {
	case err != nil:
		refuse(m, in.id, err)
	case !resent:
		ch.relay(cc, m.p, in, msg.CreatedAt)
	}
}

// remember records a message accepted under id, forgetting the oldest
// beyond recentChatIDs. cc.mu is held.
func (cc *classChat) remember(id string, r *recentChat) {
	cc.recent[id] = r
	cc.order = append(cc.order, id)
	if len(cc.order) > recentChatIDs {
		delete(cc.recent, cc.order[0])
		cc.order = cc.order[1:]
	}
}

// audience returns the identities live chat goes to: the members that had
// the history, but except.
func (cc *classChat) audience(except *room.Participant) []string {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	out := make([]string, 0, len(cc.synced))
	for p := range cc.synced {
		if p != except {
			out = append(out, p.Identity())
		}
	}
	return out
}

// relay sends a stored message from sender to the class in the form it
// came in, with the server's time.
func (ch *chat) relay(cc *classChat, sender *room.Participant, in *chatIn, at time.Time) {
	to := cc.audience(sender)
	if len(to) == 0 {
		return // an empty destination list would mean everyone
	}
	for _, pkt := range in.packets(at.UnixMilli()) {
		pkt.DestinationIdentities = to
		cc.c.room.SendData(sender, pkt, livekit.DataPacket_RELIABLE)
	}
}

// newChatID names a message whose client gave it no id.
func newChatID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "MSG_" + hex.EncodeToString(b[:])
}
