package classroom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/livekit/protocol/livekit"

	"github.com/bayan-dev/bayan/store"
)

// act carries out chat.delete: staff delete a message by the id clients
// know it by; everyone is sent a ChatMessage {id, deleted: true} from its
// author (the author from the server).
func (ch *chat) act(c *liveClass, m member, a action) bool {
	if a.Name != "chat.delete" {
		return false
	}
	if !m.staff() {
		replyTo(m, a, errors.New("forbidden: only teachers and assistants delete chat messages"))
		return true
	}
	var req struct {
		Message string `json:"message"`
	}
	if err := json.Unmarshal(a.Raw, &req); err != nil || req.Message == "" || len(req.Message) > maxChatID {
		replyTo(m, a, errors.New(`bad action: chat.delete wants {"message": ID}, the message's id`))
		return true
	}
	cc := ch.class(c)
	if cc == nil {
		replyTo(m, a, errors.New("chat unavailable: the class is closing"))
		return true
	}
	if !cc.submit(func(ctx context.Context) { ch.delete1(ctx, cc, m, a, req.Message) }) {
		replyTo(m, a, errors.New("chat busy: try again"))
	}
	return true
}

// delete1 deletes one message and tells the class (on the worker).
func (ch *chat) delete1(ctx context.Context, cc *classChat, m member, a action, id string) {
	msg, err := ch.store.ChatByClientID(ctx, cc.c.id, id)
	if errors.Is(err, store.ErrNotFound) {
		replyTo(m, a, fmt.Errorf("bad action: no chat message %q in this class", id))
		return
	}
	if err == nil {
		err = ch.store.DeleteChatMessage(ctx, cc.c.id, msg.ID, m.identity(), ch.now())
	}
	if err != nil {
		ch.log.Warn("classroom: chat message not deleted", "class", cc.c.id, "message", id, "err", err)
		replyTo(m, a, errors.New("chat unavailable: the message was not deleted"))
		return
	}
	cc.mu.Lock()
	if r := cc.recent[id]; r != nil {
		r.state = recentGone
	}
	cc.mu.Unlock()
	// Others are told from the author, whose message it was; the author
	// from the server, as SDKs drop packets that claim to come from
	// themselves.
	var others, author []string
	for _, id := range cc.audience(nil) {
		if id == msg.Sender {
			author = append(author, id)
		} else {
			others = append(others, id)
		}
	}
	for _, to := range []struct {
		ids  []string
		from string
	}{{others, msg.Sender}, {author, ""}} {
		if len(to.ids) == 0 {
			continue // an empty destination list would mean everyone
		}
		cc.c.room.SendData(nil, &livekit.DataPacket{
			ParticipantIdentity:   to.from,
			DestinationIdentities: to.ids,
			Value: &livekit.DataPacket_ChatMessage{ChatMessage: &livekit.ChatMessage{
				Id: id, Timestamp: ch.now().UnixMilli(), Deleted: true,
			}},
		}, livekit.DataPacket_RELIABLE)
	}
	replyTo(m, a, nil)
}
