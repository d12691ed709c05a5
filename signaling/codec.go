package signaling

import (
	"errors"
	"fmt"

	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// MaxFrameSize bounds one signaling frame; larger frames close the socket.
const MaxFrameSize = 1 << 20

// ErrBadFrame is returned for frames that are not a SignalRequest.
var ErrBadFrame = errors.New("signaling: malformed frame")

var jsonIn = protojson.UnmarshalOptions{DiscardUnknown: true}
var jsonOut = protojson.MarshalOptions{}

// DecodeRequest decodes one frame: binary frames are protobuf, text frames
// protojson. A frame that decodes to no known message is an error too.
func DecodeRequest(data []byte, text bool) (*livekit.SignalRequest, error) {
	if len(data) > MaxFrameSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrBadFrame, len(data))
	}
	req := &livekit.SignalRequest{}
	var err error
	if text {
		err = jsonIn.Unmarshal(data, req)
	} else {
		err = proto.Unmarshal(data, req)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadFrame, err)
	}
	if req.Message == nil {
		return nil, fmt.Errorf("%w: no message", ErrBadFrame)
	}
	return req, nil
}

// EncodeResponse encodes a response the way the client speaks.
func EncodeResponse(msg *livekit.SignalResponse, text bool) ([]byte, error) {
	if text {
		return jsonOut.Marshal(msg)
	}
	return proto.Marshal(msg)
}
