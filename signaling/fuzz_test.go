package signaling

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"

	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// fuzzSeed is one input of FuzzDecodeRequest.
type fuzzSeed struct {
	name string
	data []byte
	text bool
}

// fuzzSeeds are valid frames of several kinds in both encodings, plus
// truncated and garbage ones. They run in every `go test`; testdata/fuzz
// holds the same inputs as files (TestFuzzCorpusIsCurrent keeps them in step).
func fuzzSeeds() []fuzzSeed {
	reqs := sampleRequests()
	names := make([]string, 0, len(reqs))
	for n := range reqs {
		names = append(names, n)
	}
	sort.Strings(names)
	var seeds []fuzzSeed
	for _, n := range names {
		// Both encodings made stable: protojson varies its spacing from
		// one build to the next on purpose, and the corpus must not.
		bin, err := proto.MarshalOptions{Deterministic: true}.Marshal(reqs[n])
		if err != nil {
			panic(err)
		}
		loose, err := protojson.Marshal(reqs[n])
		if err != nil {
			panic(err)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, loose); err != nil {
			panic(err)
		}
		js := compact.Bytes()
		seeds = append(seeds,
			fuzzSeed{n + "-binary", bin, false},
			fuzzSeed{n + "-json", js, true},
			fuzzSeed{n + "-binary-truncated", bin[:len(bin)*2/3], false},
			fuzzSeed{n + "-json-truncated", js[:len(js)*2/3], true},
			fuzzSeed{n + "-binary-unknown-field", withUnknownField(bin, 999), false},
		)
	}
	seeds = append(seeds,
		fuzzSeed{"empty-binary", nil, false},
		fuzzSeed{"empty-text", nil, true},
		fuzzSeed{"garbage-binary", []byte{0xde, 0xad, 0xbe, 0xef, 0x00, 0xff, 0x10, 0x80, 0x80}, false},
		fuzzSeed{"garbage-text", []byte("GET / HTTP/1.1\r\n"), true},
		fuzzSeed{"json-null-offer", []byte(`{"offer":null}`), true},
		fuzzSeed{"json-two-messages", []byte(`{"ping":"1","leave":{}}`), true},
		fuzzSeed{"json-unknown-enum", []byte(`{"leave":{"reason":12345,"action":"RECONNECT"}}`), true},
		fuzzSeed{"json-sync-state", []byte(`{"syncState":{"answer":{"type":"answer","sdp":"v=0"},"subscription":{"trackSids":["TR_1"]},"dataChannels":[{"label":"_reliable","id":1}]}}`), true},
		fuzzSeed{"binary-map-entry-without-key", []byte{0x7a, 0x04, 0x1a, 0x02, 0x12, 0x00}, false},
		fuzzSeed{"binary-deep-nesting", deepNesting(64), false},
	)
	return seeds
}

// deepNesting is a frame of n nested length-delimited fields.
func deepNesting(n int) []byte {
	b := []byte{}
	for i := 0; i < n; i++ {
		b = append([]byte{0x0a, byte(len(b))}, b...)
		if len(b) > 120 {
			break
		}
	}
	return b
}

// discardUnknown clears unknown fields throughout m, as a JSON round trip
// would.
func discardUnknown(m protoreflect.Message) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				discardUnknown(l.Get(i).Message())
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				discardUnknown(mv.Message())
				return true
			})
		case !fd.IsList() && !fd.IsMap() && fd.Message() != nil:
			discardUnknown(v.Message())
		}
		return true
	})
	if len(m.GetUnknown()) > 0 {
		m.SetUnknown(nil)
	}
}

func encodeRequest(req *livekit.SignalRequest, text bool) ([]byte, error) {
	if text {
		return protojson.Marshal(req)
	}
	return proto.Marshal(req)
}

// checkDecode is the property FuzzDecodeRequest checks for one input.
func checkDecode(t *testing.T, data []byte, text bool) {
	req, err := DecodeRequest(data, text)
	if err != nil {
		if !errors.Is(err, ErrBadFrame) {
			t.Fatalf("error %v does not wrap ErrBadFrame", err)
		}
		if req != nil {
			t.Fatalf("request %v returned with error %v", req, err)
		}
		return
	}
	if req == nil || req.Message == nil {
		t.Fatalf("no error but no message: %v", req)
	}
	if len(data) > MaxFrameSize {
		t.Fatalf("accepted a frame of %d bytes", len(data))
	}

	// Same encoding: what decoded once decodes again to the same message.
	enc, err := encodeRequest(req, text)
	if err != nil {
		t.Fatalf("re-encode %v: %v", req, err)
	}
	again, err := DecodeRequest(enc, text)
	switch {
	case len(enc) > MaxFrameSize:
		// Re-encoding may grow a frame (a map entry gains its default key,
		// "1e2" becomes "100"); past the limit it must be refused.
		if !errors.Is(err, ErrBadFrame) {
			t.Fatalf("re-encoded frame of %d bytes: %v", len(enc), err)
		}
	case err != nil:
		t.Fatalf("re-encoded %v (%q) does not decode: %v", req, enc, err)
	case !proto.Equal(req, again):
		t.Fatalf("round trip changed the message:\n first %v\nsecond %v", req, again)
	}

	// Other encoding: a request read from a binary frame means the same in
	// JSON (minus unknown fields, which JSON cannot carry).
	if !text {
		want := proto.Clone(req).(*livekit.SignalRequest)
		discardUnknown(want.ProtoReflect())
		js, err := protojson.Marshal(want)
		if err != nil {
			t.Fatalf("as JSON %v: %v", want, err)
		}
		if len(js) <= MaxFrameSize {
			got, err := DecodeRequest(js, true)
			if err != nil {
				t.Fatalf("JSON %q of a binary request does not decode: %v", js, err)
			}
			if !proto.Equal(got, want) {
				t.Fatalf("binary → JSON changed the message:\n want %v\n  got %v", want, got)
			}
		}
	}
}

func FuzzDecodeRequest(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s.data, s.text)
	}
	f.Fuzz(func(t *testing.T, data []byte, text bool) {
		checkDecode(t, data, text)
	})
}

func TestDecodeRequestOversizeIsBadFrame(t *testing.T) {
	valid, _ := proto.Marshal(sampleRequests()["ping_req"])
	big := make([]byte, MaxFrameSize+1)
	copy(big, valid) // a valid message followed by zero bytes (field 0: invalid anyway)
	for _, text := range []bool{false, true} {
		req, err := DecodeRequest(big, text)
		if !errors.Is(err, ErrBadFrame) || req != nil {
			t.Fatalf("text=%v: got (%v, %v), want ErrBadFrame", text, req, err)
		}
	}
}

// TestFuzzCorpusIsCurrent checks that testdata/fuzz/FuzzDecodeRequest holds
// fuzzSeeds as they are, so the corpus go test replays is the one reviewed
// here; BAYAN_WRITE_CORPUS=1 rewrites it instead.
func TestFuzzCorpusIsCurrent(t *testing.T) {
	write := os.Getenv("BAYAN_WRITE_CORPUS") != ""
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodeRequest")
	if write {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range fuzzSeeds() {
		path := filepath.Join(dir, "seed-"+s.name)
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\nbool(%v)\n", strconv.Quote(string(s.data)), s.text)
		if write {
			if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != body {
			t.Errorf("%s is missing or stale (%v): run BAYAN_WRITE_CORPUS=1 go test -run TestFuzzCorpusIsCurrent ./signaling/", path, err)
		}
	}
}
