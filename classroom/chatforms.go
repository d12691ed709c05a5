package classroom

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/livekit/protocol/livekit"
)

// legacyChatTopic is the topic of the chat LiveKit's components sent as
// JSON {"id","timestamp","message"} in UserPackets (and still send beside
// their text streams to servers they think too old for streams).
const legacyChatTopic = "lk-chat-topic"

// chatForm is the packet form a chat message came in, and leaves in.
type chatForm int

const (
	formChatMessage chatForm = iota // DataPacket value ChatMessage
	formLegacy                      // UserPacket on legacyChatTopic
	formStream                      // text stream on chatStreamTopic

	chatForms = iota // how many forms there are
)

// chatIn is a chat message as a client sent it.
type chatIn struct {
	form chatForm
	id   string // the client's; "" when it gave none
	text string
	// ignoreLegacy is the components' mark on a legacy copy of a message
	// also sent as a stream; it is passed on.
	ignoreLegacy bool
	// replyTo and attrs come with streams and are passed on.
	replyTo string
	attrs   map[string]string
}

// chatMessageIn reads a ChatMessage packet.
func chatMessageIn(cm *livekit.ChatMessage) (*chatIn, error) {
	in := &chatIn{form: formChatMessage, id: cm.GetId(), text: cm.GetMessage()}
	switch {
	case cm.EditTimestamp != nil:
		return in, errors.New("bad chat message: editing messages is not supported")
	case cm.GetDeleted():
		return in, errors.New("bad chat message: staff delete messages with the chat.delete action")
	}
	return in, nil
}

// legacyChat is the JSON of legacyChatTopic.
type legacyChat struct {
	ID           string `json:"id"`
	Timestamp    int64  `json:"timestamp"`
	Message      string `json:"message"`
	IgnoreLegacy bool   `json:"ignoreLegacy,omitempty"`
}

// legacyIn reads a legacy chat packet's payload.
func legacyIn(payload []byte) (*chatIn, error) {
	var lc legacyChat
	if len(payload) > 2*maxChatBytes+1024 {
		return &chatIn{form: formLegacy}, fmt.Errorf("bad chat message: longer than %d characters", maxChatChars)
	}
	if err := json.Unmarshal(payload, &lc); err != nil {
		return &chatIn{form: formLegacy}, errors.New(`bad chat message: want JSON {"id","timestamp","message"}`)
	}
	return &chatIn{form: formLegacy, id: lc.ID, text: lc.Message, ignoreLegacy: lc.IgnoreLegacy}, nil
}

// packets are the data packets that carry in, sent at ts (Unix ms); the
// room adds the sender.
func (in *chatIn) packets(ts int64) []*livekit.DataPacket {
	switch in.form {
	case formLegacy:
		b, _ := json.Marshal(legacyChat{ID: in.id, Timestamp: ts, Message: in.text, IgnoreLegacy: in.ignoreLegacy})
		topic := legacyChatTopic
		return []*livekit.DataPacket{{Value: &livekit.DataPacket_User{User: &livekit.UserPacket{Payload: b, Topic: &topic}}}}
	case formStream:
		size := uint64(len(in.text))
		return []*livekit.DataPacket{
			{Value: &livekit.DataPacket_StreamHeader{StreamHeader: &livekit.DataStream_Header{
				StreamId: in.id, Timestamp: ts, Topic: chatStreamTopic, MimeType: "text/plain",
				TotalLength: &size, Attributes: in.attrs,
				ContentHeader: &livekit.DataStream_Header_TextHeader{TextHeader: &livekit.DataStream_TextHeader{
					OperationType: livekit.DataStream_CREATE, ReplyToStreamId: in.replyTo,
				}},
			}}},
			{Value: &livekit.DataPacket_StreamChunk{StreamChunk: &livekit.DataStream_Chunk{
				StreamId: in.id, Content: []byte(in.text),
			}}},
			{Value: &livekit.DataPacket_StreamTrailer{StreamTrailer: &livekit.DataStream_Trailer{StreamId: in.id}}},
		}
	default:
		return []*livekit.DataPacket{{Value: &livekit.DataPacket_ChatMessage{ChatMessage: &livekit.ChatMessage{
			Id: in.id, Timestamp: ts, Message: in.text,
		}}}}
	}
}
