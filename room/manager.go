package room

import (
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/livekit/protocol/livekit"

	"github.com/bayan-dev/bayan/sfu"
)

// Config holds the room defaults.
type Config struct {
	EmptyTimeout     time.Duration // close a room nobody joined after this
	DepartureTimeout time.Duration // close a room this long after the last one left
	MaxParticipants  int           // 0: unlimited
	PingInterval     time.Duration
	PingTimeout      time.Duration
	ServerInfo       *livekit.ServerInfo
	// AudioTopK, when above 0, sends each subscriber only the AudioTopK
	// loudest microphones in rooms of more than AudioTopKThreshold
	// participants (every room when the threshold is 0).
	AudioTopK          int
	AudioTopKThreshold int
	// AudienceThreshold, when above 0, puts rooms of more than that many
	// participants in audience mode: participants who may not publish and
	// publish nothing are told only of those who do, and of a running
	// count (see audience.go). 0 turns it off.
	AudienceThreshold int
	// QualityInterval is how often connection quality is measured and
	// changes are sent (ConnectionQualityUpdate); 0 means 5 s.
	QualityInterval time.Duration
	// Hooks follows participants for the layer above rooms; nil for none.
	Hooks Hooks
}

// Manager owns all rooms of this node.
type Manager struct {
	engine *sfu.Engine
	stats  *sfu.Stats
	events EventSink
	cfg    Config
	log    *slog.Logger

	mu    sync.Mutex
	rooms map[string]*Room
}

// NewManager returns a manager creating peer connections from engine.
// events may be nil.
func NewManager(engine *sfu.Engine, stats *sfu.Stats, events EventSink, cfg Config, log *slog.Logger) *Manager {
	if events == nil {
		events = discardEvents{}
	}
	if stats == nil {
		stats = &sfu.Stats{}
	}
	if cfg.EmptyTimeout <= 0 {
		cfg.EmptyTimeout = 5 * time.Minute
	}
	if cfg.DepartureTimeout <= 0 {
		cfg.DepartureTimeout = 20 * time.Second
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = 5 * time.Second
	}
	if cfg.PingTimeout <= 0 {
		cfg.PingTimeout = 15 * time.Second
	}
	if log == nil {
		log = slog.Default()
	}
	if cfg.Hooks == nil {
		cfg.Hooks = noHooks{}
	}
	return &Manager{engine: engine, stats: stats, events: events, cfg: cfg, log: log, rooms: map[string]*Room{}}
}

// Stats returns the media plane counters.
func (m *Manager) Stats() *sfu.Stats { return m.stats }

// event sends e to the webhooks and logs it when it is a coming or going.
func (m *Manager) event(e *livekit.WebhookEvent) {
	e.CreatedAt = time.Now().Unix()
	m.logLifecycle(e)
	m.events.Event(e)
}

// GetOrCreate returns the named room, creating it if needed (first join).
func (m *Manager) GetOrCreate(name string) *Room {
	r, _ := m.Create(&livekit.CreateRoomRequest{Name: name})
	return r
}

// Create creates a room with the given options or returns the existing
// one; created says which.
func (m *Manager) Create(req *livekit.CreateRoomRequest) (r *Room, created bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r := m.rooms[req.GetName()]; r != nil {
		return r, false
	}
	r = newRoom(m, req.GetName(), req)
	m.rooms[req.GetName()] = r
	return r, true
}

// Room returns the named room, or nil.
func (m *Manager) Room(name string) *Room {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rooms[name]
}

// Rooms returns all rooms, sorted by name.
func (m *Manager) Rooms() []*Room {
	m.mu.Lock()
	out := make([]*Room, 0, len(m.rooms))
	for _, r := range m.rooms {
		out = append(out, r)
	}
	m.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// Delete closes the named room, disconnecting everyone in it. It reports
// whether the room existed.
func (m *Manager) Delete(name string) bool {
	r := m.Room(name)
	if r == nil {
		return false
	}
	m.closeRoom(r, livekit.DisconnectReason_ROOM_DELETED)
	return true
}

func (m *Manager) closeRoom(r *Room, reason livekit.DisconnectReason) {
	m.mu.Lock()
	if m.rooms[r.name] == r {
		delete(m.rooms, r.name)
	}
	m.mu.Unlock()
	r.close(reason)
}

// Close closes every room, telling every client to leave with reason.
func (m *Manager) Close(reason livekit.DisconnectReason) {
	for _, r := range m.Rooms() {
		m.closeRoom(r, reason)
	}
}

// PingInterval is how often clients are asked to ping, and how often the
// node pings their WebSockets.
func (m *Manager) PingInterval() time.Duration { return m.cfg.PingInterval }

// PingTimeout is how long a client may stay silent (no request, no answer
// to a WebSocket ping) before it is dropped.
func (m *Manager) PingTimeout() time.Duration { return m.cfg.PingTimeout }
