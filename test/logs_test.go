package test

import (
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/pion/ice/v4"
	"github.com/pion/stun/v4"

	"github.com/bayan-dev/bayan/internal/testlog"
	"github.com/bayan-dev/bayan/internal/testserver"
	"github.com/bayan-dev/bayan/internal/testwait"
	"github.com/bayan-dev/bayan/server"
)

// sdpValue returns the value of the first "a=name:" line in an SDP.
func sdpValue(sdp, name string) string {
	for _, l := range strings.Split(sdp, "\r\n") {
		if v, ok := strings.CutPrefix(l, "a="+name+":"); ok {
			return v
		}
	}
	return ""
}

// STUN binding requests that carry a real session's ICE username but fail
// its integrity check write a few warnings, not one per packet: whoever
// can reach the UDP port could otherwise fill the node's log.
func TestBadIntegritySTUNFloodWritesAFewLines(t *testing.T) {
	logs := testlog.New(slog.LevelInfo)
	srv := testserver.Start(t, func(c *server.Config) { c.Log = logs.Tee(c.Log) })
	b := wsJoin(t, srv, "bob", testserver.Token(t, "stun", "bob", nil), "")
	b.keepAlive(2 * time.Second)
	b.firstOffer()
	// The publisher connection, answering the client's offer, knows both
	// ufrags: its ICE agent checks a request's integrity.
	b.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Offer{Offer: &livekit.SessionDescription{Type: "offer", Sdp: validOffer(), Id: 1}}})
	ans, _ := b.expect("answer", 10*time.Second, func(f wsFrame) bool { return f.msg.GetAnswer() != nil })
	answer := ans.msg.GetAnswer().GetSdp()
	user := sdpValue(answer, "ice-ufrag") + ":bAyN"
	pwd := sdpValue(answer, "ice-pwd")
	if pwd == "" || strings.HasPrefix(user, ":") {
		t.Fatalf("no ICE credentials in the answer:\n%s", answer)
	}

	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	dst := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: srv.UDPPort()}
	request := func(key string) []byte {
		m, err := stun.Build(stun.TransactionID, stun.BindingRequest, stun.NewUsername(user),
			ice.AttrControlling(1), ice.PriorityAttr(1), stun.NewShortTermIntegrity(key), stun.Fingerprint)
		if err != nil {
			t.Fatal(err)
		}
		return m.Raw
	}
	const flood = 1000
	for i := range flood {
		_, _ = conn.WriteToUDP(request("not-the-password"), dst)
		if i%100 == 99 {
			time.Sleep(2 * time.Millisecond) // let the socket buffer drain a little
		}
	}
	// The agent handles its packets in order: once it answers a request
	// with the right password, it has checked every bad one before it.
	answered := false
	buf := make([]byte, 1500)
	for try := 0; try < 50 && !answered; try++ {
		if _, err := conn.WriteToUDP(request(pwd), dst); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		for {
			n, _, err := conn.ReadFromUDP(buf)
			if err != nil {
				break
			}
			m := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
			if m.Decode() == nil && m.Type == stun.BindingSuccess {
				answered = true
				break
			}
		}
	}
	if !answered {
		t.Fatal("the node never answered a binding request with the right password")
	}

	discarded := logs.Matching("broken integrity")
	if len(discarded) == 0 {
		t.Fatal("no bad request reached the ICE agent: the test sends the wrong username")
	}
	var warnings []string
	for _, l := range logs.Matching() {
		if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
			warnings = append(warnings, l)
		}
	}
	if len(warnings) > 10 {
		t.Fatalf("%d bad STUN requests wrote %d warnings, want a few; the first:\n%s",
			flood, len(warnings), strings.Join(warnings[:10], "\n"))
	}
	t.Logf("%d bad STUN requests wrote %d warnings:\n%s", flood, len(warnings), strings.Join(warnings, "\n"))
}

// A join and a leave write one INFO line each, and so do the room's start
// and finish, with who and why; pion's routine warnings about the
// connection (ICE checks before any remote candidate) are debug lines.
func TestJoinAndLeaveWriteTheirInfoLines(t *testing.T) {
	logs := testlog.New(slog.LevelDebug)
	srv := testserver.Start(t, func(c *server.Config) { c.Log = logs.Tee(c.Log) })
	b := wsJoin(t, srv, "bob", testserver.Token(t, "logs", "bob", nil), "")
	b.firstOffer()
	// A publisher connection whose ICE agent runs without candidates.
	b.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Offer{Offer: &livekit.SessionDescription{Type: "offer", Sdp: validOffer(), Id: 1}}})
	b.expect("answer", 10*time.Second, func(f wsFrame) bool { return f.msg.GetAnswer() != nil })
	const routine = "Failed to ping without candidate pairs"
	testwait.For(t, "pion's "+routine, 10*time.Second, func() bool { return len(logs.Matching(routine)) > 0 })
	b.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Leave{Leave: &livekit.LeaveRequest{Reason: livekit.DisconnectReason_CLIENT_INITIATED}}})
	testwait.For(t, "the room to finish", 10*time.Second, func() bool { return len(logs.Matching(`msg="room finished"`)) > 0 })

	roomSID, sid := b.join.GetRoom().GetSid(), b.join.GetParticipant().GetSid()
	want := []string{
		`level=INFO msg="room started" room=logs sid=` + roomSID,
		`level=INFO msg="participant joined" room=logs identity=bob sid=` + sid,
		`level=INFO msg="participant left" room=logs identity=bob sid=` + sid + ` reason=CLIENT_INITIATED`,
		`level=INFO msg="room finished" room=logs sid=` + roomSID,
	}
	got := logs.Matching("level=INFO")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("INFO lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, l := range logs.Matching(routine) {
		if !strings.Contains(l, "level=DEBUG") {
			t.Errorf("a routine warning above debug: %s", l)
		}
	}
	if w := logs.Matching("level=WARN"); len(w) > 0 {
		t.Errorf("a join and a leave wrote warnings:\n%s", strings.Join(w, "\n"))
	}
}
