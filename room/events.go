package room

import (
	"github.com/livekit/protocol/livekit"
)

// SignalSink delivers SignalResponses to one participant's client. Send must
// not block: a sink queues and drops (and disconnects) a client that cannot
// keep up.
type SignalSink interface {
	Send(*livekit.SignalResponse)
}

// EventSink receives room lifecycle events (webhooks). Event must not block.
type EventSink interface {
	Event(*livekit.WebhookEvent)
}

type discardEvents struct{}

func (discardEvents) Event(*livekit.WebhookEvent) {}
