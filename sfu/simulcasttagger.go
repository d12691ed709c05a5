package sfu

import (
	"sync"
	"sync/atomic"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
)

// tagPackets is how many first packets of each SSRC-simulcast stream get
// the MID and RID tags: pion decides which layer an SSRC is from the first
// few (at most ten, padding aside) and never looks again.
const tagPackets = 64

// simulcastTagger is the interceptor that lets pion receive SSRC-based
// simulcast: it writes the MID and RID (or repaired RID) header extensions
// into the first packets of the SSRCs an offer's SIM groups declared (see
// rewriteSSRCSimulcast). Streams it does not know pass through untouched,
// without a wrapper.
type simulcastTagger struct {
	interceptor.NoOp
	table atomic.Pointer[simTable]
	close func()
}

// learn makes t tag the streams of tbl (and keep those it knew).
func (t *simulcastTagger) learn(tbl *simTable) {
	t.table.Store(tbl.merge(t.table.Load()))
}

// BindRemoteStream implements interceptor.Interceptor.
func (t *simulcastTagger) BindRemoteStream(info *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	tbl := t.table.Load()
	if tbl == nil {
		return reader
	}
	s, ok := tbl.streams[info.SSRC]
	if !ok {
		return reader
	}
	tag := &streamTagger{next: reader, midID: tbl.midID, mid: []byte(s.mid), ridID: tbl.ridID, rid: []byte(s.rid)}
	if s.repair {
		tag.ridID = tbl.rsidID
	}
	return tag
}

// Close implements interceptor.Interceptor.
func (t *simulcastTagger) Close() error {
	if t.close != nil {
		t.close()
	}
	return nil
}

// streamTagger tags the first packets of one stream.
type streamTagger struct {
	next   interceptor.RTPReader
	midID  uint8
	mid    []byte
	ridID  uint8
	rid    []byte
	tagged int
	hdr    rtp.Header
	buf    []byte
}

// Read implements interceptor.RTPReader.
func (s *streamTagger) Read(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
	n, a, err := s.next.Read(b, a)
	if err != nil || s.tagged >= tagPackets {
		return n, a, err
	}
	s.tagged++
	return s.tag(b, n), a, nil
}

// tag rewrites the packet in b[:n] with the MID and RID extensions set and
// returns its new length; a packet that does not parse or would not fit
// in b is left as it was.
func (s *streamTagger) tag(b []byte, n int) int {
	hl, err := s.hdr.Unmarshal(b[:n])
	if err != nil {
		return n
	}
	if s.hdr.GetExtension(s.midID) == nil {
		if s.hdr.SetExtension(s.midID, s.mid) != nil {
			return n
		}
	}
	if s.hdr.SetExtension(s.ridID, s.rid) != nil {
		return n
	}
	size := s.hdr.MarshalSize() + n - hl
	if size > len(b) {
		return n
	}
	if cap(s.buf) < size {
		s.buf = make([]byte, size)
	}
	buf := s.buf[:size]
	w, err := s.hdr.MarshalTo(buf)
	if err != nil {
		return n
	}
	copy(buf[w:], b[hl:n])
	return copy(b, buf)
}

// taggerFactory builds one simulcastTagger per peer connection and keeps
// it by the connection's ID until the connection closes, so that the
// transport which negotiates can hand it what an offer declared.
type taggerFactory struct {
	mu   sync.Mutex
	byPC map[string]*simulcastTagger
}

func newTaggerFactory() *taggerFactory {
	return &taggerFactory{byPC: map[string]*simulcastTagger{}}
}

// NewInterceptor implements interceptor.Factory.
func (f *taggerFactory) NewInterceptor(id string) (interceptor.Interceptor, error) {
	t := &simulcastTagger{}
	t.close = func() {
		f.mu.Lock()
		if f.byPC[id] == t {
			delete(f.byPC, id)
		}
		f.mu.Unlock()
	}
	f.mu.Lock()
	f.byPC[id] = t
	f.mu.Unlock()
	return t, nil
}

// tagger returns the tagger of the peer connection with that ID, or nil.
func (f *taggerFactory) tagger(id string) *simulcastTagger {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.byPC[id]
}
