package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
)

func TestDeliveryStatsFromReceiverReports(t *testing.T) {
	r := newTestReceiver(opusCodec, nil)
	dt := NewDownTrack(r, "a", "b", nil)
	r.AddDownTrack(dt)
	bindDownTrack(t, dt, 111, testDownSSRC, &recordingWriter{})
	f := newFeeder(r)

	if got := dt.TakeDeliveryStats(); got.Reports != 0 || got.Expected != 0 {
		t.Fatalf("before any report %+v", got)
	}
	feedOpus(t, f, []uint16{0}, 0)
	// The first report sets the origin; a report about another SSRC is
	// ignored.
	dt.HandleRTCP([]rtcp.Packet{&rtcp.ReceiverReport{Reports: []rtcp.ReceptionReport{
		{SSRC: testDownSSRC, LastSequenceNumber: 0},
		{SSRC: 1234, LastSequenceNumber: 5000, TotalLost: 4000},
	}}})

	// The publisher loses every tenth packet: the down-track forwards the
	// gaps. The subscriber then loses 3 more on its own link.
	var seqs []uint16
	for s := uint16(1); s < 100; s++ {
		if s%10 != 5 {
			seqs = append(seqs, s)
		}
	}
	feedOpus(t, f, seqs, 0)
	// LSR: our sender report left 50 ms ago; the subscriber held it 10 ms.
	now := time.Now()
	dt.HandleRTCP([]rtcp.Packet{&rtcp.ReceiverReport{Reports: []rtcp.ReceptionReport{{
		SSRC:               testDownSSRC,
		LastSequenceNumber: 99,
		TotalLost:          10 + 3,
		Jitter:             480, // 10 ms at 48 kHz
		LastSenderReport:   ntpMiddle(now.Add(-50 * time.Millisecond)),
		Delay:              uint32(10 * time.Millisecond * 65536 / time.Second),
	}}}})
	got := dt.TakeDeliveryStats()
	if got.Reports != 2 || got.Expected != 99 || got.Lost != 3 {
		t.Fatalf("stats %+v, want 2 reports, expected 99, lost 3 (upstream gaps discounted)", got)
	}
	if got.Jitter != 10*time.Millisecond {
		t.Fatalf("jitter %v, want 10ms", got.Jitter)
	}
	if got.RTT < 38*time.Millisecond || got.RTT > 60*time.Millisecond {
		t.Fatalf("rtt %v, want about 40ms", got.RTT)
	}
	if got := dt.TakeDeliveryStats(); got.Reports != 0 {
		t.Fatalf("a second take without reports %+v", got)
	}

	// A report in a sender report (one peer connection) counts too; a
	// corrupt DLSR larger than the time elapsed yields no RTT change.
	feedOpus(t, f, []uint16{100, 101, 102, 103}, 0)
	dt.HandleRTCP([]rtcp.Packet{&rtcp.SenderReport{SSRC: 42, Reports: []rtcp.ReceptionReport{{
		SSRC: testDownSSRC, LastSequenceNumber: 103, TotalLost: 13,
		LastSenderReport: ntpMiddle(time.Now()), Delay: 65536,
	}}}})
	got = dt.TakeDeliveryStats()
	if got.Reports != 1 || got.Expected != 4 || got.Lost != 0 {
		t.Fatalf("stats %+v, want expected 4, lost 0", got)
	}
	if got.RTT < 38*time.Millisecond || got.RTT > 60*time.Millisecond {
		t.Fatalf("rtt %v changed by an impossible report", got.RTT)
	}
}

// ReportedLoss is the subscriber's lost count since its first report,
// less the gaps upstream loss left in the forwarded sequence: a packet
// missing at one report and repaired by the next is not lost.
func TestRemoteStatsCountLinkLoss(t *testing.T) {
	var s remoteStats
	now := time.Now()
	s.observe(rtcp.ReceptionReport{LastSequenceNumber: 1000, TotalLost: 0}, sendCursor{highest: 1000, sent: 1000}, now)
	// 100 more: 4 lost on the link, 2 gaps from the publisher's own loss.
	s.observe(rtcp.ReceptionReport{LastSequenceNumber: 1100, TotalLost: 6}, sendCursor{highest: 1100, sent: 1098}, now)
	// 100 more, of which a late packet made the lost count go down.
	s.observe(rtcp.ReceptionReport{LastSequenceNumber: 1200, TotalLost: 5}, sendCursor{highest: 1200, sent: 1198}, now)
	if lost, expected := s.lost(); lost != 3 || expected != 200 {
		t.Fatalf("lost %d of %d, want 3 of 200", lost, expected)
	}
	// take is not disturbed by it.
	if d := s.take(); d.Lost != 3 || d.Expected != 200 {
		t.Fatalf("take: lost %d of %d, want 3 of 200", d.Lost, d.Expected)
	}
}
