package signaling

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"io"
	"strings"

	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"
)

// maxJoinRequest bounds a decoded (and decompressed) join request.
const maxJoinRequest = 256 << 10

// DecodeJoinRequest decodes the join_request query parameter that protocol
// 16+ clients send: base64url (padded or not) of a WrappedJoinRequest whose
// join_request is a JoinRequest, gzip-compressed or not.
func DecodeJoinRequest(param string) (*livekit.JoinRequest, error) {
	raw, err := base64.URLEncoding.DecodeString(param)
	if err != nil {
		raw, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(param, "="))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: join_request is not base64url: %v", ErrBadFrame, err)
	}
	var wrapped livekit.WrappedJoinRequest
	if err := proto.Unmarshal(raw, &wrapped); err != nil {
		return nil, fmt.Errorf("%w: wrapped join request: %v", ErrBadFrame, err)
	}
	body := wrapped.GetJoinRequest()
	switch wrapped.GetCompression() {
	case livekit.WrappedJoinRequest_NONE:
	case livekit.WrappedJoinRequest_GZIP:
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("%w: join request gzip: %v", ErrBadFrame, err)
		}
		body, err = io.ReadAll(io.LimitReader(zr, maxJoinRequest+1))
		if err != nil {
			return nil, fmt.Errorf("%w: join request gzip: %v", ErrBadFrame, err)
		}
	default:
		return nil, fmt.Errorf("%w: join request compression %v", ErrBadFrame, wrapped.GetCompression())
	}
	if len(body) > maxJoinRequest {
		return nil, fmt.Errorf("%w: join request over %d bytes", ErrBadFrame, maxJoinRequest)
	}
	var jr livekit.JoinRequest
	if err := proto.Unmarshal(body, &jr); err != nil {
		return nil, fmt.Errorf("%w: join request: %v", ErrBadFrame, err)
	}
	return &jr, nil
}
