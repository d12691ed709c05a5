package loadtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
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

	"github.com/pion/dtls/v3"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/stun/v4"

	"github.com/bayan-dev/bayan/internal/mmsg"
)

// A lean subscriber receives a participant's subscribed media without a
// pion peer connection: the server's offer is answered as an ICE-lite,
// receive-only endpoint; one goroutine per subscriber reads its UDP socket
// with recvmmsg, answers the server's STUN checks, hands DTLS records to the
// handshake, and decrypts SRTP in place into the track statistics. No
// goroutine hand-off, no copy and no allocation per media packet; that is
// what makes a synthetic subscriber cheaper than the server's work for it.
//
// It sends what a browser's receiver sends: receiver reports every second,
// transport-wide congestion control feedback every 100 ms, a NACK when a
// gap opens, and PLIs (from trackStats). The data channel section is
// rejected. Each subscriber has its own socket, because DTLS records carry
// nothing that would tell two subscribers apart on a shared one.
const (
	leanBatch        = 32          // datagrams per recvmmsg
	leanRRInterval   = time.Second // receiver reports
	leanTWCCInterval = 100 * time.Millisecond
	leanNACKMaxGap   = 64 // a larger jump is a new stream position, not a loss
)

// leanTrack is a subscribed track seen by the read loop.
type leanTrack struct {
	stats   *trackStats
	lastSeq uint16
	started bool
}

type leanSubscriber struct {
	p     *participant
	conn  *net.UDPConn
	raw   syscall.RawConn
	creds leanCreds
	cert  tls.Certificate

	mu          sync.Mutex
	remoteUfrag string
	remotePwd   string
	tracks      map[uint32]*leanTrack // copied on write
	trackView   atomic.Pointer[map[uint32]*leanTrack]
	transportCC atomic.Uint32

	server    atomic.Pointer[netip.AddrPort] // learned from the first valid check
	handshake sync.Once
	dtls      *dtlsPacketConn
	srtpIn    atomic.Pointer[srtp.Context] // set once keys exist
	srtcpOut  *srtp.Context                // read loop only, after srtpIn is set
	up        chan struct{}
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

// newLeanSubscriber opens a socket toward the server's host and starts
// reading it; up is closed once SRTP keys are agreed.
func newLeanSubscriber(p *participant, serverHost string, up chan struct{}) (*leanSubscriber, error) {
	if !mmsg.Supported {
		return nil, errors.New("lean subscribers need recvmmsg (Linux); use --pion-subscribers")
	}
	local, err := localAddrToward(serverHost)
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
		return nil, err
	}
	s := &leanSubscriber{
		p: p, conn: conn, raw: raw, cert: p.env.leanCert, up: up,
		tracks: map[uint32]*leanTrack{}, start: time.Now(),
	}
	s.creds = leanCreds{
		ufrag:       randomToken(8),
		pwd:         randomToken(24),
		fingerprint: p.env.leanFingerprint,
		candidate:   conn.LocalAddr().(*net.UDPAddr).AddrPort(),
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	s.senderSSRC = binary.BigEndian.Uint32(b[:])
	s.recorder = twcc.NewRecorder(s.senderSSRC)
	empty := map[uint32]*leanTrack{}
	s.trackView.Store(&empty)
	s.ctx, s.cancel = context.WithCancel(p.ctx)
	s.dtls = newDTLSPacketConn(s)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.readLoop()
	}()
	return s, nil
}

// answer answers a subscriber offer and starts accounting the tracks new
// in it; it returns the answer SDP and the new tracks.
func (s *leanSubscriber) answer(offer string) (string, []*trackStats, error) {
	a, err := answerOffer(offer, s.creds)
	if err != nil {
		return "", nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remoteUfrag, s.remotePwd = a.remoteUfrag, a.remotePwd
	if a.transportCC != 0 {
		s.transportCC.Store(uint32(a.transportCC))
	}
	next := make(map[uint32]*leanTrack, len(s.tracks)+len(a.tracks))
	for k, v := range s.tracks {
		next[k] = v
	}
	var fresh []*trackStats
	for _, t := range a.tracks {
		if _, ok := next[t.ssrc]; ok {
			continue
		}
		clock := t.clock
		if clock == 0 {
			clock = 90000
		}
		ts := &trackStats{sid: t.id, ssrc: t.ssrc, video: t.video, clock: clock}
		next[t.ssrc] = &leanTrack{stats: ts}
		fresh = append(fresh, ts)
	}
	s.tracks = next
	s.trackView.Store(&next)
	return a.sdp, fresh, nil
}

// readLoop reads the socket until it is closed.
func (s *leanSubscriber) readLoop() {
	b := mmsg.NewBatch(leanBatch, 1500)
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
func (s *leanSubscriber) handle(pkt []byte, from netip.AddrPort, now time.Time) {
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
func (s *leanSubscriber) handleSTUN(pkt []byte, from netip.AddrPort) {
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

// runDTLS makes the DTLS handshake as client, then derives the SRTP keys.
func (s *leanSubscriber) runDTLS(server netip.AddrPort) {
	s.dtls.setRemote(server)
	conn, err := dtls.Client(s.dtls, net.UDPAddrFromAddrPort(server), &dtls.Config{
		Certificates:           []tls.Certificate{s.cert},
		SRTPProtectionProfiles: []dtls.SRTPProtectionProfile{dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80},
		ExtendedMasterSecret:   dtls.RequireExtendedMasterSecret,
		InsecureSkipVerify:     true, // the fingerprint in the offer is what vouches for the server
	})
	if err != nil {
		s.p.fail(fmt.Errorf("subscriber DTLS: %w", err))
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	err = conn.HandshakeContext(ctx)
	cancel()
	if err != nil {
		_ = conn.Close()
		if s.ctx.Err() == nil {
			s.p.fail(fmt.Errorf("subscriber DTLS handshake: %w", err))
		}
		return
	}
	if err := s.startSRTP(conn); err != nil {
		_ = conn.Close()
		s.p.fail(err)
		return
	}
	s.upOnce.Do(func() { close(s.up) })
	// The server's SCTP association (for the rejected data channels) still
	// sends the odd record: read and drop until the subscriber closes.
	buf := make([]byte, 1500)
	for {
		if _, err := conn.Read(buf); err != nil {
			break
		}
	}
	_ = conn.Close()
}

func (s *leanSubscriber) startSRTP(conn *dtls.Conn) error {
	profile, ok := conn.SelectedSRTPProtectionProfile()
	if !ok {
		return errors.New("subscriber DTLS: no SRTP profile agreed")
	}
	state, ok := conn.ConnectionState()
	if !ok {
		return errors.New("subscriber DTLS: no connection state")
	}
	cfg := srtp.Config{Profile: srtp.ProtectionProfile(profile)}
	if err := cfg.ExtractSessionKeysFromDTLS(&state, true); err != nil {
		return fmt.Errorf("subscriber SRTP keys: %w", err)
	}
	in, err := srtp.CreateContext(cfg.Keys.RemoteMasterKey, cfg.Keys.RemoteMasterSalt, cfg.Profile)
	if err != nil {
		return fmt.Errorf("subscriber SRTP: %w", err)
	}
	out, err := srtp.CreateContext(cfg.Keys.LocalMasterKey, cfg.Keys.LocalMasterSalt, cfg.Profile)
	if err != nil {
		return fmt.Errorf("subscriber SRTCP: %w", err)
	}
	s.srtcpOut = out
	s.srtpIn.Store(in) // publishes srtcpOut to the read loop too
	return nil
}

// handleSRTP decrypts a media packet in place and accounts it.
func (s *leanSubscriber) handleSRTP(pkt []byte, now time.Time) {
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
		if gap := seq - lt.lastSeq; gap > 1 && gap <= leanNACKMaxGap {
			s.sendNACK(ssrc, lt.lastSeq+1, gap-1)
		}
		if int16(seq-lt.lastSeq) > 0 {
			lt.lastSeq = seq
		}
	} else {
		lt.started, lt.lastSeq = true, seq
	}
	lt.stats.onPacket(s.p, plain, now.UnixNano())
}

// transportSeq reads the transport-wide sequence number from a one-byte
// header extension (RFC 8285) with the given id.
func transportSeq(pkt []byte, id uint8) (uint16, bool) {
	if pkt[0]&0x10 == 0 {
		return 0, false
	}
	off := 12 + 4*int(pkt[0]&0x0f)
	if len(pkt) < off+4 || binary.BigEndian.Uint16(pkt[off:]) != 0xBEDE {
		return 0, false
	}
	end := off + 4 + 4*int(binary.BigEndian.Uint16(pkt[off+2:]))
	if end > len(pkt) {
		return 0, false
	}
	for i := off + 4; i < end; {
		b := pkt[i]
		if b == 0 {
			i++
			continue
		}
		eid, l := b>>4, int(b&0x0f)+1
		if eid == 15 {
			break
		}
		if eid == id && l == 2 && i+3 <= end {
			return binary.BigEndian.Uint16(pkt[i+1:]), true
		}
		i += 1 + l
	}
	return 0, false
}

// periodic sends receiver reports and transport-wide feedback when due.
func (s *leanSubscriber) periodic(now time.Time) {
	if s.srtpIn.Load() == nil {
		return
	}
	if now.Sub(s.lastTWCC) >= leanTWCCInterval && s.transportCC.Load() != 0 {
		s.lastTWCC = now
		if pkts := s.recorder.BuildFeedbackPacket(); len(pkts) > 0 {
			s.sendRTCP(pkts...)
		}
	}
	if now.Sub(s.lastRR) >= leanRRInterval {
		s.lastRR = now
		rr := &rtcp.ReceiverReport{SSRC: s.senderSSRC}
		for ssrc, lt := range *s.trackView.Load() {
			if !lt.started {
				continue
			}
			jitter := lt.stats.jitterUs.Load() * uint64(lt.stats.clock) / 1e6
			rr.Reports = append(rr.Reports, rtcp.ReceptionReport{
				SSRC: ssrc, LastSequenceNumber: uint32(lt.lastSeq), Jitter: uint32(jitter),
			})
			if len(rr.Reports) == 31 {
				break // one report block list is at most 31 long
			}
		}
		s.sendRTCP(rr)
	}
}

func (s *leanSubscriber) sendNACK(ssrc uint32, from, count uint16) {
	seqs := make([]uint16, 0, count)
	for i := range count {
		seqs = append(seqs, from+i)
	}
	s.p.env.rtcp.nacks.Add(uint64(count))
	s.sendRTCP(&rtcp.TransportLayerNack{SenderSSRC: s.senderSSRC, MediaSSRC: ssrc,
		Nacks: rtcp.NackPairsFromSequenceNumbers(seqs)})
}

// sendPLI asks for a keyframe; called by trackStats from the read loop.
func (s *leanSubscriber) sendPLI(ssrc uint32) {
	s.p.env.rtcp.plis.Add(1)
	s.sendRTCP(&rtcp.PictureLossIndication{SenderSSRC: s.senderSSRC, MediaSSRC: ssrc})
}

// sendRTCP encrypts and sends a compound packet; read loop only.
func (s *leanSubscriber) sendRTCP(pkts ...rtcp.Packet) {
	server := s.server.Load()
	if s.srtpIn.Load() == nil || server == nil {
		return
	}
	plain, err := rtcp.Marshal(pkts)
	if err != nil {
		return
	}
	enc, err := s.srtcpOut.EncryptRTCP(nil, plain, nil)
	if err != nil {
		return
	}
	_, _ = s.conn.WriteToUDPAddrPort(enc, *server)
}

// close sends DTLS close_notify (through the still open socket), closes
// the socket and waits for the read loop and handshake; then it finishes
// the tracks' statistics, which the read loop owned.
func (s *leanSubscriber) close() {
	s.cancel()
	s.dtls.Close()
	_ = s.conn.Close()
	s.wg.Wait()
	for _, lt := range *s.trackView.Load() {
		lt.stats.finish()
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

// certFingerprint is the SDP fingerprint (sha-256) of a certificate.
func certFingerprint(cert tls.Certificate) (string, error) {
	x, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(x.Raw)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":"), nil
}
