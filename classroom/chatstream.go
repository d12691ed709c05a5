package classroom

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/livekit/protocol/livekit"
)

// chatStreamTopic is the topic of the text streams that carry chat in
// current LiveKit clients (livekit-client's sendText, the components'
// useChat): a StreamHeader, StreamChunks, a StreamTrailer.
const chatStreamTopic = "lk.chat"

const (
	// maxOpenStreams bounds the chat streams one participant has open at
	// once (refused ones included, so that their chunks are recognised).
	maxOpenStreams = 8
	// streamTimeout is how long a chat stream may take from its header to
	// its trailer; a slower one is refused and forgotten.
	streamTimeout = 10 * time.Second
)

// chatStreams reassembles the chat text streams of one participant, bounded
// in number (maxOpenStreams), size (maxChatBytes) and time (streamTimeout).
// Its caller serialises the calls.
type chatStreams struct {
	open map[string]*chatStream // by stream id
}

// chatStream is one text stream on the chat topic being received.
type chatStream struct {
	header  *livekit.DataStream_Header
	started time.Time
	next    uint64 // the chunk index expected next
	text    []byte
	// refused streams are remembered only to swallow their chunks and
	// trailer: the sender was told once.
	refused bool
}

// header starts a stream on the chat topic. It returns the whole message
// when the header carries it inline, or an error when the stream is
// refused (its chunks and trailer are then swallowed).
func (s *chatStreams) header(h *livekit.DataStream_Header, now time.Time) (*chatIn, error) {
	id := h.GetStreamId()
	if id == "" || len(id) > maxChatID {
		return nil, errors.New("bad chat message: stream id empty or too long")
	}
	if s.open == nil {
		s.open = map[string]*chatStream{}
	}
	if _, dup := s.open[id]; dup {
		return nil, errors.New("bad chat message: stream id already open")
	}
	s.expire(now)
	if len(s.open) >= maxOpenStreams {
		return nil, fmt.Errorf("bad chat message: more than %d chat streams open at once", maxOpenStreams)
	}
	st := &chatStream{header: h, started: now, refused: true}
	s.open[id] = st
	if err := checkStreamHeader(h); err != nil {
		return nil, err
	}
	if inline := h.InlineContent; inline != nil {
		delete(s.open, id) // complete in one packet: no chunks follow
		return streamMessage(h, inline)
	}
	st.refused = false
	return nil, nil
}

// checkStreamHeader refuses the chat streams Bayan cannot read or keep:
// byte streams (files), edits and reactions, unknown compressions,
// encrypted content, and texts announced longer than a chat message may
// be (the announced length is the text's, before compression).
func checkStreamHeader(h *livekit.DataStream_Header) error {
	th := h.GetTextHeader()
	switch {
	case th == nil:
		return errors.New("bad chat message: only text streams carry chat (no attachments)")
	case th.GetOperationType() != livekit.DataStream_CREATE:
		return fmt.Errorf("bad chat message: %s is not supported, only new messages", th.GetOperationType())
	case h.GetCompression() != livekit.DataStream_NONE && h.GetCompression() != livekit.DataStream_DEFLATE_RAW:
		return fmt.Errorf("bad chat message: compression %s is not supported", h.GetCompression())
	//lint:ignore SA1019 a client that still sets it must be refused
	case h.GetEncryptionType() != livekit.Encryption_NONE:
		return errors.New("bad chat message: encrypted streams are not supported")
	case h.TotalLength != nil && *h.TotalLength > maxChatBytes:
		return fmt.Errorf("bad chat message: longer than %d characters", maxChatChars)
	}
	return nil
}

// chunk adds a chunk to its stream. known is false when the chunk belongs
// to no chat stream (another topic's: the room relays it); err refuses
// the stream.
func (s *chatStreams) chunk(c *livekit.DataStream_Chunk, now time.Time) (known bool, err error) {
	st := s.open[c.GetStreamId()]
	if st == nil {
		return false, nil
	}
	if st.refused {
		return true, nil
	}
	switch {
	case now.Sub(st.started) > streamTimeout:
		err = fmt.Errorf("bad chat message: stream not finished within %v", streamTimeout)
	case c.GetChunkIndex() != st.next || c.GetVersion() != 0:
		err = errors.New("bad chat message: stream chunks out of order or rewritten")
	case len(c.GetIv()) > 0: //lint:ignore SA1019 a client that still sets it must be refused
		err = errors.New("bad chat message: encrypted streams are not supported")
	case len(st.text)+len(c.GetContent()) > maxStreamBytes:
		err = fmt.Errorf("bad chat message: longer than %d characters", maxChatChars)
	}
	if err != nil {
		st.refused, st.text = true, nil
		return true, err
	}
	st.next++
	st.text = append(st.text, c.GetContent()...)
	return true, nil
}

// trailer ends a stream and returns its message; nil and no error when the
// stream was refused before or the sender gave it up (a trailer with a
// reason).
func (s *chatStreams) trailer(t *livekit.DataStream_Trailer, now time.Time) (known bool, in *chatIn, err error) {
	st := s.open[t.GetStreamId()]
	if st == nil {
		return false, nil, nil
	}
	delete(s.open, t.GetStreamId())
	if st.refused || t.GetReason() != "" {
		return true, nil, nil
	}
	if now.Sub(st.started) > streamTimeout {
		return true, nil, fmt.Errorf("bad chat message: stream not finished within %v", streamTimeout)
	}
	in, err = streamMessage(st.header, st.text)
	return true, in, err
}

// expire forgets the streams older than streamTimeout.
func (s *chatStreams) expire(now time.Time) {
	for id, st := range s.open {
		if now.Sub(st.started) > streamTimeout {
			delete(s.open, id)
		}
	}
}

// maxStreamBytes bounds what a chat stream carries, compressed or not:
// raw deflate grows text it cannot shrink by a few bytes a block at most.
const maxStreamBytes = maxChatBytes + 256

// streamMessage is the chat message a complete stream carried, inflated
// when it came compressed (newer clients deflate what shrinks).
func streamMessage(h *livekit.DataStream_Header, content []byte) (*chatIn, error) {
	text := content
	if h.GetCompression() == livekit.DataStream_DEFLATE_RAW {
		// Read one byte past the bound: a bomb stops there.
		r := flate.NewReader(bytes.NewReader(content))
		var err error
		text, err = io.ReadAll(io.LimitReader(r, maxChatBytes+1))
		if err != nil {
			return nil, errors.New("bad chat message: compressed content does not inflate")
		}
	}
	if len(text) > maxChatBytes || len(content) > maxStreamBytes {
		return nil, fmt.Errorf("bad chat message: longer than %d characters", maxChatChars)
	}
	return &chatIn{
		form:    formStream,
		id:      h.GetStreamId(),
		text:    string(text),
		replyTo: h.GetTextHeader().GetReplyToStreamId(),
		attrs:   h.GetAttributes(),
	}, nil
}
