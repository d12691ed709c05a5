package web_test

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"

	"github.com/bayan-dev/bayan/internal/browsertest"
	"github.com/bayan-dev/bayan/internal/testserver"
)

// The page's hand-written DataPacket codec (protobuf.js) against the
// protobuf library the node uses: what the page encodes decodes in Go to
// the same packet, and what Go encodes (with fields the page does not know
// around the ones it does) decodes in the page.
func TestDataPacketCodecAgainstGo(t *testing.T) {
	b := browsertest.Start(t, browsertest.Options{Timeout: time.Minute})
	srv := testserver.Start(t, nil)
	p := b.NewPage("codec")
	p.Open(srv.HTTPURL() + "/")
	eval := func(expr string) string {
		t.Helper()
		var out string
		must(t, p.Eval(`(async () => { const pb = await import('/protobuf.js'); `+expr+` })()`, &out))
		return out
	}
	hexOf := `const hex = (b) => [...b].map((x) => x.toString(16).padStart(2, '0')).join('');`

	// Page -> Go.
	var user, chat livekit.DataPacket
	raw, err := hex.DecodeString(eval(hexOf + `return hex(pb.encodeDataPacket({user: {topic: 'bayan.class', payload: new TextEncoder().encode('{"action":"hand","raised":true}')}, destinationIdentities: ['ms-lee']}));`))
	must(t, err)
	must(t, proto.Unmarshal(raw, &user))
	if u := user.GetUser(); u.GetTopic() != "bayan.class" || string(u.GetPayload()) != `{"action":"hand","raised":true}` ||
		len(user.GetDestinationIdentities()) != 1 || user.GetDestinationIdentities()[0] != "ms-lee" {
		t.Errorf("the page's user packet decodes in Go as %v", &user)
	}
	raw, err = hex.DecodeString(eval(hexOf + `return hex(pb.encodeDataPacket({chat: {id: 'm-1', timestamp: 1764000000123, message: 'héllo ✋'}}));`))
	must(t, err)
	must(t, proto.Unmarshal(raw, &chat))
	if c := chat.GetChatMessage(); c.GetId() != "m-1" || c.GetTimestamp() != 1764000000123 || c.GetMessage() != "héllo ✋" || c.GetDeleted() {
		t.Errorf("the page's chat message decodes in Go as %v", &chat)
	}

	// Go -> page, with fields the page skips (varint, fixed and
	// length-delimited ones) before and after those it reads.
	topic, id := "bayan.class", "U1"
	start := uint64(1 << 40)
	packets := []*livekit.DataPacket{
		{ParticipantIdentity: "ms-lee", ParticipantSid: "PA_1", Sequence: 77, DestinationIdentities: []string{"ana"},
			Value: &livekit.DataPacket_User{User: &livekit.UserPacket{ParticipantSid: "PA_1", ParticipantIdentity: "ms-lee",
				Payload: []byte(`{"event":"state"}`), Topic: &topic, Id: &id, StartTime: &start, Nonce: []byte{1, 2, 3}}}},
		{ParticipantIdentity: "ana", Kind: livekit.DataPacket_LOSSY,
			Value: &livekit.DataPacket_ChatMessage{ChatMessage: &livekit.ChatMessage{Id: "m-2", Timestamp: 1764000000999, Message: "hi", Generated: true}}},
		{ParticipantIdentity: "ana", Value: &livekit.DataPacket_ChatMessage{ChatMessage: &livekit.ChatMessage{Id: "m-2", Deleted: true}}},
		{ParticipantIdentity: "ben", Value: &livekit.DataPacket_RpcRequest{RpcRequest: &livekit.RpcRequest{Id: "r", Method: "m", ResponseTimeoutMs: 5}}},
	}
	want := []string{
		`{"identity":"ms-lee","user":{"topic":"bayan.class","payload":"{\"event\":\"state\"}"}}`,
		`{"identity":"ana","chat":{"id":"m-2","timestamp":1764000000999,"message":"hi","deleted":false}}`,
		`{"identity":"ana","chat":{"id":"m-2","timestamp":0,"message":"","deleted":true}}`,
		`{"identity":"ben"}`,
	}
	for i, pkt := range packets {
		b, err := proto.Marshal(pkt)
		must(t, err)
		got := eval(fmt.Sprintf(`const p = pb.decodeDataPacket(Uint8Array.from(%q.match(/../g).map((h) => parseInt(h, 16))));
			const out = {identity: p.identity};
			if (p.user) out.user = {topic: p.user.topic, payload: new TextDecoder().decode(p.user.payload)};
			if (p.chat) out.chat = {id: p.chat.id, timestamp: p.chat.timestamp, message: p.chat.message, deleted: p.chat.deleted};
			return JSON.stringify(out);`, hex.EncodeToString(b)))
		if got != want[i] {
			t.Errorf("packet %d decodes in the page as %s, want %s", i, got, want[i])
		}
	}

	// Truncated and garbage input is an error, never a packet.
	b0, _ := proto.Marshal(packets[0])
	for _, bad := range []string{hex.EncodeToString(b0[:len(b0)-3]), "12ff", "0f", strings.Repeat("ff", 11)} {
		got := eval(fmt.Sprintf(`try { pb.decodeDataPacket(Uint8Array.from(%q.match(/../g).map((h) => parseInt(h, 16)))); return 'decoded'; } catch (e) { return 'error: ' + e.message; }`, bad))
		if !strings.HasPrefix(got, "error: protobuf:") {
			t.Errorf("decoding %s: %s, want an error", bad, got)
		}
	}
}
