// Package lean receives a load-test subscriber's media without a pion peer connection, as an ICE-lite, receive-only endpoint.
package lean

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/stun/v4"

	"github.com/bayan-dev/bayan/internal/mmsg"
)

// A lean subscriber receives a participant's subscribed media without a
// pion peer connection: the server's offer is answered as an ICE-lite,
// receive-only endpoint; one goroutine per subscriber reads its UDP socket
// with recvmmsg, answers the server's STUN checks, hands DTLS records to the
// handshake, and decrypts SRTP in place into the tracks' accounting. No
// goroutine hand-off, no copy and no allocation per media packet; that is
// what makes a synthetic subscriber cheaper than the server's work for it.
//
// It sends what a browser's receiver sends: receiver reports every second,
// transport-wide congestion control feedback every 100 ms, a NACK when a
// gap opens, and PLIs (when a Track asks). The data channel section is
// accepted but never spoken. Each subscriber has its own socket, because
// DTLS records carry nothing that would tell two subscribers apart on a
// shared one.
const (
	batchSize    = 32          // datagrams per recvmmsg
	rrInterval   = time.Second // receiver reports
	twccInterval = 100 * time.Millisecond
	nackMaxGap   = 64 // a larger jump is a new stream position, not a loss
)

// Track is where a subscriber accounts one subscribed track's media. The
// subscriber's read loop is its only caller.
type Track interface {
	// OnPacket accounts one decrypted RTP packet that arrived at arrival
	// (Unix ns); pkt is only valid during the call.
	OnPacket(pkt []byte, arrival int64)
	// JitterMicros is the track's interarrival jitter so far, in µs, which
	// receiver reports carry.
	JitterMicros() uint64
	// Finish is called once, after the read loop ended.
	Finish()
}

// Hooks are how a subscriber tells its owner what happened; all are
// required.
type Hooks struct {
	// OnFail reports that the DTLS handshake or SRTP setup failed.
	OnFail func(error)
	// OnNACK counts packets asked for again.
	OnNACK func(packets uint64)
	// OnPLI counts a picture loss indication sent.
	OnPLI func()
}

// Config is what a subscriber needs to connect.
type Config struct {
	// ServerHost is the host the server's media comes from; the socket is
	// bound to the local address that routes there.
	ServerHost string
	// Identity is the DTLS certificate and fingerprint, made once per run.
	Identity Identity
	// Up is closed once SRTP keys are agreed.
	Up chan struct{}
	Hooks
}

// track is a subscribed track seen by the read loop.
type track struct {
	stats   Track
	clock   int64 // RTP clock rate, for the jitter in receiver reports
	lastSeq uint16
	started bool
}

// Subscriber is one participant's receive-only media endpoint.
type Subscriber struct {
	cfg   Config
	conn  *net.UDPConn
	raw   syscall.RawConn
	creds credentials

	mu          sync.Mutex
	remoteUfrag string
	remotePwd   string
	tracks      map[uint32]*track // copied on write
	trackView   atomic.Pointer[map[uint32]*track]
	transportCC atomic.Uint32

	server    atomic.Pointer[netip.AddrPort] // learned from the first valid check
	handshake sync.Once
	dtls      *dtlsPacketConn
	srtpIn    atomic.Pointer[srtp.Context] // set once keys exist
	srtcpOut  *srtp.Context                // read loop only, after srtpIn is set
	upOnce    sync.Once

	// read loop state
	hdr        rtp.Header // reused: its extension slice keeps its capacity
	senderSSRC uint32
	recorder   *twcc.Recorder
	start      time.Time
	lastRR     time.Time
	lastTWCC   time.Time

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New opens a socket toward cfg.ServerHost and starts reading it; the
// subscriber stops when ctx ends or Close is called.
func New(ctx context.Context, cfg Config) (*Subscriber, error) {
	if !mmsg.Supported {
		return nil, errors.New("lean subscribers need recvmmsg (Linux); use --pion-subscribers")
	}
	local, err := localAddrToward(cfg.ServerHost)
	if err != nil {
		return nil, err
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: local})
	if err != nil {
		return nil, fmt.Errorf("lean subscriber socket: %w", err)
	}
	_ = conn.SetReadBuffer(1 << 20)
	raw, err := conn.SyscallConn()
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("lean subscriber socket: %w", err)
	}
	s := &Subscriber{
		cfg: cfg, conn: conn, raw: raw,
		tracks: map[uint32]*track{}, start: time.Now(),
	}
	s.creds = credentials{
		ufrag:       randomToken(8),
		pwd:         randomToken(24),
		fingerprint: cfg.Identity.Fingerprint,
		candidate:   conn.LocalAddr().(*net.UDPAddr).AddrPort(),
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	s.senderSSRC = binary.BigEndian.Uint32(b[:])
	s.recorder = twcc.NewRecorder(s.senderSSRC)
	empty := map[uint32]*track{}
	s.trackView.Store(&empty)
	s.ctx, s.cancel = context.WithCancel(ctx)
	s.dtls = newDTLSPacketConn(s)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.readLoop()
	}()
	return s, nil
}

// Answer answers a subscriber offer and returns the answer SDP. For each
// track new in the offer it calls newTrack, whose Track then receives that
// track's packets; the TrackDesc's Clock is never 0 (it defaults to 90 kHz).
func (s *Subscriber) Answer(offer string, newTrack func(TrackDesc) Track) (string, error) {
	a, err := answerOffer(offer, s.creds)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remoteUfrag, s.remotePwd = a.remoteUfrag, a.remotePwd
	if a.transportCC != 0 {
		s.transportCC.Store(uint32(a.transportCC))
	}
	next := make(map[uint32]*track, len(s.tracks)+len(a.tracks))
	for k, v := range s.tracks {
		next[k] = v
	}
	for _, d := range a.tracks {
		if _, ok := next[d.SSRC]; ok {
			continue
		}
		if d.Clock == 0 {
			d.Clock = 90000
		}
		next[d.SSRC] = &track{stats: newTrack(d), clock: d.Clock}
	}
	s.tracks = next
	s.trackView.Store(&next)
	return a.sdp, nil
}

// readLoop reads the socket until it is closed.
func (s *Subscriber) readLoop() {
	b := mmsg.NewBatch(batchSize, 1500)
	// The kernel's arrival stamps, not the time the goroutine got to the
	// packet: a load tester sharing its CPU reads late, and both the delay
	// it reports and the congestion feedback the server acts on must not
	// show that.
	stamped := b.EnableTimestamps(s.raw) == nil
	for {
		n, err := b.Recv(s.raw)
		if err != nil {
			return
		}
		now := time.Now()
		for i := range n {
			at := now
			if stamped {
				if ns := b.Arrival(i); ns != 0 {
					at = time.Unix(0, ns)
				}
			}
			s.handle(b.Packet(i), b.From(i), at)
		}
		s.periodic(now)
	}
}

// handle demultiplexes one datagram as RFC 7983 says.
func (s *Subscriber) handle(pkt []byte, from netip.AddrPort, now time.Time) {
	if len(pkt) == 0 {
		return
	}
	switch first := pkt[0]; {
	case first < 4:
		s.handleSTUN(pkt, from)
	case first >= 20 && first <= 63:
		s.dtls.deliver(pkt)
	case first >= 128 && first <= 191:
		if len(pkt) >= 2 && pkt[1] >= 192 && pkt[1] <= 223 {
			return // RTCP from the server (sender reports): nothing to measure
		}
		s.handleSRTP(pkt, now)
	}
}

// handleSTUN answers the server's connectivity checks and, at the first
// nominated one, starts DTLS toward the address it came from.
func (s *Subscriber) handleSTUN(pkt []byte, from netip.AddrPort) {
	m := &stun.Message{Raw: append([]byte(nil), pkt...)}
	if err := m.Decode(); err != nil || m.Type != stun.BindingRequest {
		return
	}
	s.mu.Lock()
	ufrag, remoteUfrag := s.creds.ufrag, s.remoteUfrag
	s.mu.Unlock()
	var user stun.Username
	if err := user.GetFrom(m); err != nil || !strings.HasPrefix(user.String(), ufrag+":") ||
		(remoteUfrag != "" && user.String() != ufrag+":"+remoteUfrag) {
		return
	}
	integrity := stun.NewShortTermIntegrity(s.creds.pwd)
	if err := integrity.Check(m); err != nil {
		return
	}
	resp, err := stun.Build(stun.NewTransactionIDSetter(m.TransactionID), stun.BindingSuccess,
		&stun.XORMappedAddress{IP: from.Addr().AsSlice(), Port: int(from.Port())}, integrity, stun.Fingerprint)
	if err != nil {
		return
	}
	_, _ = s.conn.WriteToUDPAddrPort(resp.Raw, from)
	if m.Contains(stun.AttrUseCandidate) {
		s.handshake.Do(func() {
			s.server.Store(&from)
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.runDTLS(from)
			}()
		})
	}
}

// handleSRTP decrypts a media packet in place and accounts it.
func (s *Subscriber) handleSRTP(pkt []byte, now time.Time) {
	ctx := s.srtpIn.Load()
	if ctx == nil || len(pkt) < 12 {
		return
	}
	ssrc := binary.BigEndian.Uint32(pkt[8:12])
	// Every packet that arrives is acknowledged, whatever track it is of:
	// the server's estimate of this link counts on it. SRTP leaves the
	// header, and so the transport-wide sequence number, in the clear.
	if ext := uint8(s.transportCC.Load()); ext != 0 {
		if tseq, ok := transportSeq(pkt, ext); ok {
			s.recorder.Record(ssrc, tseq, now.Sub(s.start).Microseconds())
		}
	}
	lt := (*s.trackView.Load())[ssrc]
	if lt == nil {
		return
	}
	plain, err := ctx.DecryptRTP(pkt[:0], pkt, &s.hdr)
	if err != nil {
		return
	}
	seq := binary.BigEndian.Uint16(plain[2:4])
	if lt.started {
		if gap := seq - lt.lastSeq; gap > 1 && gap <= nackMaxGap {
			s.sendNACK(ssrc, lt.lastSeq+1, gap-1)
		}
		if int16(seq-lt.lastSeq) > 0 {
			lt.lastSeq = seq
		}
	} else {
		lt.started, lt.lastSeq = true, seq
	}
	lt.stats.OnPacket(plain, now.UnixNano())
}

// Close sends DTLS close_notify (through the still open socket), closes
// the socket and waits for the read loop and handshake; then it finishes
// the tracks, which the read loop owned.
func (s *Subscriber) Close() {
	s.cancel()
	s.dtls.Close()
	_ = s.conn.Close()
	s.wg.Wait()
	for _, lt := range *s.trackView.Load() {
		lt.stats.Finish()
	}
}

// localAddrToward returns the local address that routes to host (no packet
// is sent: connecting a UDP socket only picks the route).
func localAddrToward(host string) (net.IP, error) {
	c, err := net.Dial("udp4", net.JoinHostPort(host, "9"))
	if err != nil {
		return nil, fmt.Errorf("no route to %s: %w", host, err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).IP, nil
}

// randomToken returns n characters valid as ICE ufrag or password.
func randomToken(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
