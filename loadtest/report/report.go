// Package report is the load tester's report: its JSON form, and the text summary and self-contained HTML page made from it.
package report

import "time"

// Report is the outcome of one load test run: what the synthetic clients
// measured, and what the server said about itself. It is written as JSON
// (--out) and rendered as a self-contained HTML page.
type Report struct {
	Scenario string            `json:"scenario"`
	URL      string            `json:"url"`
	Started  time.Time         `json:"started"`
	Duration Seconds           `json:"duration_s"` // measured run, ramp included
	Params   map[string]string `json:"params"`     // the flags that shaped the run
	Shard    string            `json:"shard"`      // "i/n"

	Participants int `json:"participants"` // joined successfully
	Failed       int `json:"failed"`       // could not join
	Publishers   int `json:"publishers"`
	Subscribers  int `json:"subscribers"`
	// TracksSubscribed counts down-tracks that delivered media.
	TracksSubscribed int `json:"tracks_subscribed"`

	JoinMs       Percentiles `json:"join_ms"`        // WebSocket dial to both connections up
	FirstMediaMs Percentiles `json:"first_media_ms"` // join to first media packet
	DelayMs      Percentiles `json:"delay_ms"`       // end to end, send time in the payload to arrival
	JitterMs     float64     `json:"jitter_ms"`      // RFC 3550 interarrival jitter, mean over tracks
	LossPercent  float64     `json:"loss_percent"`   // from the sequence numbers in the payloads

	SentKbps     float64 `json:"sent_kbps"`     // all publishers, media payload
	ReceivedKbps float64 `json:"received_kbps"` // all subscribers
	// PerSubscriberKbps summarises each subscriber's received bitrate.
	PerSubscriberKbps Summary `json:"per_subscriber_kbps"`
	// Layers maps a simulcast layer ("q", "h", "f", "audio") to what was sent
	// and received on it, so received bitrate can be checked per layer.
	Layers map[string]LayerStats `json:"layers"`

	NACKsSent uint64 `json:"nacks_sent"`
	PLIsSent  uint64 `json:"plis_sent"`

	// Signal counts the signaling messages participants received, by role.
	Signal SignalStats `json:"signal"`
	// TeacherMedia says which students received the teacher's media (class).
	TeacherMedia TeacherMedia `json:"teacher_media"`

	Server *ServerUsage `json:"server,omitempty"` // nil when --metrics-url is not reachable
	Client ClientUsage  `json:"client"`

	Timeline []Sample `json:"timeline"` // one sample a second
	Errors   []string `json:"errors,omitempty"`
}

// Keys of Report.Layers: the simulcast layers low to high, audio, and a
// video stream without simulcast.
const (
	LayerQ      = "q"
	LayerH      = "h"
	LayerF      = "f"
	LayerAudio  = "audio"
	LayerSingle = "single"
)

// Seconds is a duration written as seconds in JSON.
type Seconds float64

// Percentiles of a distribution, in the unit the field's name says.
type Percentiles struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

// Summary of per-participant values.
type Summary struct {
	Min  float64 `json:"min"`
	P50  float64 `json:"p50"`
	Mean float64 `json:"mean"`
	Max  float64 `json:"max"`
}

// LayerStats compares one layer's sent and received bitrate.
type LayerStats struct {
	SentKbps float64 `json:"sent_kbps"` // per publisher track
	// ReceivedKbps is the mean over the subscribers that received this layer.
	ReceivedKbps float64 `json:"received_kbps"`
	Subscribers  int     `json:"subscribers"`
}

// ServerUsage is read from the server's Prometheus /metrics before and
// after the measured part of the run.
type ServerUsage struct {
	CPUCores               float64 `json:"cpu_cores"`                 // process CPU seconds / wall seconds
	RSSBytes               float64 `json:"rss_bytes"`                 // at the end
	PacketsOutPerSecond    float64 `json:"packets_out_per_second"`    // forwarded RTP packets
	CPUMicrosPerPacket     float64 `json:"cpu_us_per_packet"`         // CPU per forwarded packet
	MemoryPerParticipant   float64 `json:"memory_per_participant"`    // (RSS end - RSS start) / participants
	PacketsInPerSecond     float64 `json:"packets_in_per_second"`     // received from publishers
	ForwardDelayP99Seconds float64 `json:"forward_delay_p99_seconds"` // from the server's histogram
	// SignalMessagesPerParticipant is bayan_signal_messages_sent_total over
	// the whole run (joins included) divided by the participants who
	// joined; SignalMessagesByType splits it by message type.
	SignalMessagesPerParticipant float64            `json:"signal_messages_per_participant"`
	SignalMessagesByType         map[string]float64 `json:"signal_messages_by_type"`
}

// SignalStats is what the participants' signaling connections received.
type SignalStats struct {
	// ByRole maps a role ("teacher", "student", "stage", "peer") to the
	// messages each of its participants received.
	ByRole map[string]RoleSignal `json:"by_role"`
}

// RoleSignal summarises the signaling messages received by the
// participants of one role over the whole run.
type RoleSignal struct {
	Participants int     `json:"participants"`
	Mean         float64 `json:"mean"`
	Max          float64 `json:"max"`
	// ByType is the mean per participant by message type (the
	// SignalResponse field: "update", "room_update", "offer", ...).
	ByType map[string]float64 `json:"by_type"`
}

// TeacherMedia says whether every student received the teacher's audio
// and video (class scenario; zero otherwise).
type TeacherMedia struct {
	Students int      `json:"students"` // students of the run (this shard), joined or not
	Received int      `json:"received"` // of them, those who received both
	Missing  []string `json:"missing"`  // identities of some who did not
}

// ClientUsage is the load tester's own cost.
type ClientUsage struct {
	CPUCores               float64 `json:"cpu_cores"`
	CPUMicrosPerSubscriber float64 `json:"cpu_us_per_subscriber_second"` // CPU µs per subscribed track per second
	Goroutines             int     `json:"goroutines"`
}

// Sample is the state of the run at one moment.
type Sample struct {
	T           float64 `json:"t"` // seconds since the start
	Joined      int     `json:"joined"`
	Tracks      int     `json:"tracks"`
	MbpsIn      float64 `json:"mbps_in"`  // received by subscribers
	MbpsOut     float64 `json:"mbps_out"` // sent by publishers
	LossPercent float64 `json:"loss_percent"`
	DelayP50Ms  float64 `json:"delay_p50_ms"`
	DelayP99Ms  float64 `json:"delay_p99_ms"`
}
