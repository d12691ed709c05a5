package classroom

import (
	"context"
	"strconv"

	"github.com/livekit/protocol/livekit"

	"github.com/bayan-dev/bayan/room"
	"github.com/bayan-dev/bayan/store"
)

// ready sends m the class's recent messages, oldest first, as ChatMessage
// packets from their senders; from then on m gets the live ones.
func (ch *chat) ready(c *liveClass, m member) {
	cc := ch.class(c)
	if cc == nil {
		return
	}
	cc.mu.Lock()
	if cc.synced[m.p] {
		cc.mu.Unlock()
		return // a reconnection: the client kept what it had
	}
	cc.waiting[m.p] = true
	queue := !cc.historyQueued
	cc.historyQueued = true
	cc.mu.Unlock()
	if !queue {
		return // the job queued serves m too
	}
	if !cc.submit(func(ctx context.Context) { ch.sendHistory(ctx, cc) }) {
		// Without their history, they still get what is said from now on.
		ch.log.Warn("classroom: chat busy, history not sent", "class", c.id)
		cc.mu.Lock()
		cc.syncWaiting()
		cc.historyQueued = false
		cc.mu.Unlock()
	}
}

// sendHistory sends the history to the members waiting for it (on the
// worker): after the messages stored so far, before any relayed later.
func (ch *chat) sendHistory(ctx context.Context, cc *classChat) {
	cc.mu.Lock()
	to := make([]*room.Participant, 0, len(cc.waiting))
	for p := range cc.waiting {
		to = append(to, p)
	}
	cc.mu.Unlock()
	history, err := ch.store.RecentChat(ctx, cc.c.id, store.DefaultChatHistory)
	if err != nil {
		ch.log.Warn("classroom: chat history not sent", "class", cc.c.id, "err", err)
	}
	for _, msg := range history {
		// As a ChatMessage (livekit-client's chat event), and as the legacy
		// JSON, which LiveKit's components (useChat) read beside text
		// streams; both carry the message's id, by which clients that
		// read both keep one copy.
		legacy := (&chatIn{form: formLegacy, id: publicID(msg), text: msg.Body}).packets(msg.CreatedAt.UnixMilli())
		pkts := append([]*livekit.DataPacket{{
			Value: &livekit.DataPacket_ChatMessage{ChatMessage: &livekit.ChatMessage{
				Id: publicID(msg), Timestamp: msg.CreatedAt.UnixMilli(), Message: msg.Body,
			}},
		}}, legacy...)
		for _, pkt := range pkts {
			pkt.ParticipantIdentity = msg.Sender
			for _, p := range to {
				p.SendData(pkt, livekit.DataPacket_RELIABLE)
			}
		}
	}
	cc.mu.Lock()
	for _, p := range to {
		delete(cc.waiting, p)
		if stillPresent(cc.c, p) {
			cc.synced[p] = true
		}
	}
	// Members that became ready while this job ran wait for a job of
	// their own: they need what was stored meanwhile.
	cc.historyQueued = len(cc.waiting) > 0
	requeue := cc.historyQueued
	cc.mu.Unlock()
	if requeue && !cc.submit(func(ctx context.Context) { ch.sendHistory(ctx, cc) }) {
		cc.mu.Lock()
		cc.syncWaiting()
		cc.historyQueued = false
		cc.mu.Unlock()
	}
}

// syncWaiting counts the members waiting for the history in without it.
// cc.mu is held.
func (cc *classChat) syncWaiting() {
	for p := range cc.waiting {
		delete(cc.waiting, p)
		if stillPresent(cc.c, p) {
			cc.synced[p] = true
		}
	}
}

// stillPresent reports whether p is (still) a member present in c.
func stillPresent(c *liveClass, p *room.Participant) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.members[p.Identity()].p == p
}

// publicID is the id clients know a stored message by.
func publicID(m store.ChatMessage) string {
	if m.ClientID != "" {
		return m.ClientID
	}
	return strconv.FormatInt(m.ID, 10)
}
