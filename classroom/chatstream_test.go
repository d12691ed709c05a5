package classroom

import (
	"bytes"
	"compress/flate"
	"strings"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"

	"github.com/bayan-dev/bayan/store"
)

func textHeader(id string, size uint64) *livekit.DataStream_Header {
	return &livekit.DataStream_Header{StreamId: id, Topic: chatStreamTopic, MimeType: "text/plain", TotalLength: &size,
		ContentHeader: &livekit.DataStream_Header_TextHeader{TextHeader: &livekit.DataStream_TextHeader{}}}
}

func chunkOf(id string, i uint64, text string) *livekit.DataStream_Chunk {
	return &livekit.DataStream_Chunk{StreamId: id, ChunkIndex: i, Content: []byte(text)}
}

func TestChatStreamReassembly(t *testing.T) {
	var s chatStreams
	now := time.Unix(1000, 0)
	if in, err := s.header(textHeader("a", 11), now); in != nil || err != nil {
		t.Fatalf("header: %v, %v", in, err)
	}
	for i, part := range []string{"hello", " world"} {
		if known, err := s.chunk(chunkOf("a", uint64(i), part), now); !known || err != nil {
			t.Fatalf("chunk %d: %v, %v", i, known, err)
		}
	}
	// Another topic's stream is not ours.
	if known, _ := s.chunk(chunkOf("other", 0, "x"), now); known {
		t.Error("a chunk of an unknown stream was taken as chat")
	}
	known, in, err := s.trailer(&livekit.DataStream_Trailer{StreamId: "a"}, now)
	if !known || err != nil || in == nil || in.text != "hello world" || in.id != "a" || in.form != formStream {
		t.Fatalf("trailer: %v %+v %v", known, in, err)
	}
	if len(s.open) != 0 {
		t.Errorf("%d streams left open", len(s.open))
	}

	// Inline content is a whole message in the header.
	h := textHeader("b", 2)
	h.InlineContent = []byte("hi")
	if in, err := s.header(h, now); err != nil || in == nil || in.text != "hi" || len(s.open) != 0 {
		t.Fatalf("inline: %+v, %v, %d open", in, err, len(s.open))
	}
	// A trailer its sender gave up carries nothing, and says nothing.
	s.header(textHeader("c", 5), now)
	if known, in, err := s.trailer(&livekit.DataStream_Trailer{StreamId: "c", Reason: "interrupted"}, now); !known || in != nil || err != nil {
		t.Errorf("interrupted: %v %+v %v", known, in, err)
	}
}

// deflated is text compressed as newer clients compress streams.
func deflated(t *testing.T, text string) []byte {
	t.Helper()
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestCompression)
	w.Write([]byte(text))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestChatStreamCompressed(t *testing.T) {
	now := time.Unix(1000, 0)
	text := strings.Repeat("compressible ", 100)
	var s chatStreams

	// Inline, compressed.
	h := textHeader("inline", uint64(len(text)))
	h.Compression = livekit.DataStream_DEFLATE_RAW
	h.InlineContent = deflated(t, text)
	if in, err := s.header(h, now); err != nil || in == nil || in.text != text {
		t.Fatalf("inline compressed: %+v, %v", in, err)
	}

	// Chunked: one deflate stream across the chunks.
	h = textHeader("chunked", uint64(len(text)))
	h.Compression = livekit.DataStream_DEFLATE_RAW
	z := deflated(t, text)
	s.header(h, now)
	s.chunk(&livekit.DataStream_Chunk{StreamId: "chunked", ChunkIndex: 0, Content: z[:len(z)/2]}, now)
	s.chunk(&livekit.DataStream_Chunk{StreamId: "chunked", ChunkIndex: 1, Content: z[len(z)/2:]}, now)
	if _, in, err := s.trailer(&livekit.DataStream_Trailer{StreamId: "chunked"}, now); err != nil || in == nil || in.text != text {
		t.Fatalf("chunked compressed: %+v, %v", in, err)
	}

	// A bomb (a megabyte in a few hundred bytes) and garbage are refused.
	h = textHeader("bomb", 10)
	h.Compression = livekit.DataStream_DEFLATE_RAW
	h.InlineContent = deflated(t, strings.Repeat("a", 1<<20))
	if _, err := s.header(h, now); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("bomb: %v", err)
	}
	h = textHeader("garbage", 10)
	h.Compression = livekit.DataStream_DEFLATE_RAW
	h.InlineContent = []byte{0xff, 0xff, 0xff, 0xff}
	if _, err := s.header(h, now); err == nil {
		t.Error("garbage inflated")
	}
}

func TestChatStreamRefusals(t *testing.T) {
	now := time.Unix(1000, 0)
	big := uint64(maxChatBytes + 1)
	byteHeader := textHeader("bytes", 3)
	byteHeader.ContentHeader = &livekit.DataStream_Header_ByteHeader{ByteHeader: &livekit.DataStream_ByteHeader{Name: "f"}}
	edit := textHeader("edit", 3)
	edit.GetTextHeader().OperationType = livekit.DataStream_UPDATE
	zipped := textHeader("zip", 3)
	zipped.Compression = livekit.DataStream_CompressionType(7) // none we know
	for name, h := range map[string]*livekit.DataStream_Header{
		"too large": textHeader("big", big), "file": byteHeader, "edit": edit, "compressed": zipped,
		"no id": textHeader("", 3), "long id": textHeader(strings.Repeat("i", maxChatID+1), 3),
	} {
		var s chatStreams
		if _, err := s.header(h, now); err == nil {
			t.Errorf("%s: accepted", name)
		}
		// Its chunks and trailer are swallowed without a second answer.
		if h.StreamId != "" && len(h.StreamId) <= maxChatID {
			if known, err := s.chunk(chunkOf(h.StreamId, 0, "abc"), now); !known || err != nil {
				t.Errorf("%s: chunk after refusal: %v %v", name, known, err)
			}
			if known, in, err := s.trailer(&livekit.DataStream_Trailer{StreamId: h.StreamId}, now); !known || in != nil || err != nil {
				t.Errorf("%s: trailer after refusal: %v %+v %v", name, known, in, err)
			}
		}
	}

	// Chunks beyond the bound (whatever the header said), out of order,
	// or too late refuse the stream once.
	var s chatStreams
	s.header(textHeader("grow", 10), now)
	s.chunk(chunkOf("grow", 0, strings.Repeat("x", maxStreamBytes)), now)
	if _, err := s.chunk(chunkOf("grow", 1, "x"), now); err == nil {
		t.Error("a stream grew past the bound")
	}
	if known, err := s.chunk(chunkOf("grow", 2, "x"), now); !known || err != nil {
		t.Errorf("after the refusal: %v %v, want swallowed", known, err)
	}
	s.header(textHeader("order", 10), now)
	if _, err := s.chunk(chunkOf("order", 1, "x"), now); err == nil {
		t.Error("a chunk out of order was taken")
	}
	s.header(textHeader("slow", 10), now)
	if _, err := s.chunk(chunkOf("slow", 0, "x"), now.Add(streamTimeout+time.Second)); err == nil {
		t.Error("a chunk after the timeout was taken")
	}
	s.header(textHeader("slow2", 10), now)
	if _, _, err := s.trailer(&livekit.DataStream_Trailer{StreamId: "slow2"}, now.Add(streamTimeout+time.Second)); err == nil {
		t.Error("a stream finished after the timeout was taken")
	}
	if _, err := s.header(textHeader("order", 10), now); err == nil {
		t.Error("a stream id already open was taken again")
	}

	// At most maxOpenStreams at once; expired ones make room.
	var o chatStreams
	for i := range maxOpenStreams {
		if _, err := o.header(textHeader(string(rune('a'+i)), 1), now); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := o.header(textHeader("one-more", 1), now); err == nil {
		t.Error("more than maxOpenStreams open")
	}
	if known, _ := o.chunk(chunkOf("one-more", 0, "x"), now); known {
		t.Error("a stream refused for room is remembered")
	}
	if _, err := o.header(textHeader("later", 1), now.Add(streamTimeout+time.Second)); err != nil || len(o.open) != 1 {
		t.Errorf("after the timeout: %v, %d open; want the old ones forgotten", err, len(o.open))
	}
}

func TestChatCheck(t *testing.T) {
	ch := newChat(nil, nil)
	defer ch.close()
	c := &liveClass{}
	pkt := &livekit.DataPacket{}
	ok := &chatIn{text: "hello"}
	for _, tc := range []struct {
		role   string
		locked bool
		in     *chatIn
		want   string // "" allowed, else a prefix of the refusal
	}{
		{"student", false, ok, ""},
		{"student", true, ok, "forbidden"},
		{"teacher", true, ok, ""},
		{"assistant", true, ok, ""},
		{"observer", false, ok, "forbidden"},
		{"student", false, &chatIn{text: "  "}, "bad chat message: empty"},
		{"student", false, &chatIn{text: strings.Repeat("é", maxChatChars)}, ""},
		{"student", false, &chatIn{text: strings.Repeat("é", maxChatChars+1)}, "bad chat message: longer"},
		{"student", false, &chatIn{text: "a\xffb"}, "bad chat message: text is not UTF-8"},
		{"student", false, &chatIn{text: "hi", id: strings.Repeat("i", maxChatID+1)}, "bad chat message: id"},
	} {
		c.chatLocked.Store(tc.locked)
		err := ch.check(c, member{role: store.Role(tc.role)}, pkt, tc.in)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s (locked %v) %.20q: refused: %v", tc.role, tc.locked, tc.in.text, err)
		case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)):
			t.Errorf("%s (locked %v) %.20q: %v, want %q", tc.role, tc.locked, tc.in.text, err, tc.want)
		}
	}
}

// FuzzChatStreams feeds one participant's chat streams arbitrary packets
// (ops decoded from the input) and checks the bounds hold whatever comes.
func FuzzChatStreams(f *testing.F) {
	f.Add([]byte{0, 1, 5, 1, 1, 'h', 'i', 2, 1})
	f.Add([]byte{0, 2, 200, 1, 2, 0xff, 0xff, 3, 2, 1, 2, 9, 9})
	f.Add(bytes.Repeat([]byte{0, 7, 50, 1, 7, 'x'}, 20))
	f.Fuzz(func(t *testing.T, ops []byte) {
		var s chatStreams
		now := time.Unix(1000, 0)
		next := func() byte {
			if len(ops) == 0 {
				return 0
			}
			b := ops[0]
			ops = ops[1:]
			return b
		}
		for steps := 0; len(ops) > 0 && steps < 1000; steps++ {
			op, id := next()%5, string(rune('a'+next()%12))
			var in *chatIn
			switch op {
			case 0: // header: announced size, maybe inline or compressed
				h := textHeader(id, uint64(next())*64)
				if next()%3 == 0 {
					h.Compression = livekit.DataStream_DEFLATE_RAW
				}
				if next()%4 == 0 {
					h.InlineContent = bytes.Repeat([]byte{next()}, int(next())*40)
				}
				in, _ = s.header(h, now)
			case 1: // chunk of some length
				s.chunk(&livekit.DataStream_Chunk{StreamId: id, ChunkIndex: uint64(next() % 4),
					Content: bytes.Repeat([]byte{next()}, int(next())*40)}, now)
			case 2: // trailer
				_, in, _ = s.trailer(&livekit.DataStream_Trailer{StreamId: id}, now)
			case 3: // time passes
				now = now.Add(time.Duration(next()) * 100 * time.Millisecond)
			case 4: // a trailer given up
				s.trailer(&livekit.DataStream_Trailer{StreamId: id, Reason: "interrupted"}, now)
			}
			if in != nil && len(in.text) > maxChatBytes {
				t.Fatalf("a message of %d bytes came out", len(in.text))
			}
			if len(s.open) > maxOpenStreams {
				t.Fatalf("%d streams open", len(s.open))
			}
			for id, st := range s.open {
				if len(st.text) > maxStreamBytes || (st.refused && st.text != nil) {
					t.Fatalf("stream %s holds %d bytes (refused %v)", id, len(st.text), st.refused)
				}
			}
		}
	})
}

func FuzzLegacyChat(f *testing.F) {
	f.Add([]byte(`{"id":"a","timestamp":1,"message":"hi"}`))
	f.Add([]byte(`{"id":1}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		in, err := legacyIn(payload)
		if in == nil || in.form != formLegacy || (err != nil && in.text != "") {
			t.Fatalf("legacyIn(%q) = %+v, %v", payload, in, err)
		}
	})
}
