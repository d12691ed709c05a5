package signaling

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	lkauth "github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/livekit/protocol/utils/guid"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/bayan-dev/bayan/auth"
)

// WebhookConfig says where room events are posted.
type WebhookConfig struct {
	URLs []string `yaml:"urls"`
	// APIKey signs the requests; its secret comes from the configured keys.
	APIKey string `yaml:"api_key"`
	// Attempts is how many times a delivery is tried (default 5).
	Attempts int `yaml:"attempts"`
	// Backoff is the first retry delay, doubled on each attempt (default 500ms).
	Backoff time.Duration `yaml:"backoff"`
}

// webhookQueue bounds undelivered events per URL; beyond it events are
// dropped (and counted in the next event's num_dropped).
const webhookQueue = 1024

// Webhooks posts room events to the configured URLs, signed the way LiveKit
// signs them so that livekit/protocol/webhook verifies them: the body is the
// protojson WebhookEvent, the Authorization header a JWT whose sha256 claim
// is the body's digest. Each URL gets its events in order, with retries.
type Webhooks struct {
	cfg    WebhookConfig
	secret string
	log    *slog.Logger
	client *http.Client
	queues []chan *livekit.WebhookEvent
	wg     sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	dropped map[int]int32
	closed  bool
}

// NewWebhooks starts one delivery worker per URL. With no URLs, events are
// discarded.
func NewWebhooks(cfg WebhookConfig, keys *auth.Keys, log *slog.Logger) *Webhooks {
	if cfg.Attempts <= 0 {
		cfg.Attempts = 5
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 500 * time.Millisecond
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &Webhooks{
		cfg:     cfg,
		secret:  keys.Secret(cfg.APIKey),
		log:     log,
		client:  &http.Client{Timeout: 10 * time.Second},
		ctx:     ctx,
		cancel:  cancel,
		dropped: map[int]int32{},
	}
	if w.secret == "" && len(cfg.URLs) > 0 {
		log.Error("webhooks disabled: api_key has no configured secret", "api_key", cfg.APIKey)
		return w
	}
	for i, u := range cfg.URLs {
		q := make(chan *livekit.WebhookEvent, webhookQueue)
		w.queues = append(w.queues, q)
		w.wg.Add(1)
		go w.deliver(i, u, q)
	}
	return w
}

// Event queues an event for every URL; it never blocks.
func (w *Webhooks) Event(e *livekit.WebhookEvent) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	if e.Id == "" {
		e.Id = guid.New("EV_")
	}
	for i, q := range w.queues {
		select {
		case q <- e:
		default:
			w.dropped[i]++
			w.log.Warn("webhook queue full, event dropped", "event", e.Event, "url", w.cfg.URLs[i])
		}
	}
}

func (w *Webhooks) deliver(i int, url string, q chan *livekit.WebhookEvent) {
	defer w.wg.Done()
	for e := range q {
		w.mu.Lock()
		dropped := w.dropped[i]
		w.dropped[i] = 0
		w.mu.Unlock()
		ev := proto.Clone(e).(*livekit.WebhookEvent) // num_dropped is per URL
		ev.NumDropped = dropped
		w.post(url, ev)
	}
}

// post delivers one event, retrying with exponential backoff.
func (w *Webhooks) post(url string, e *livekit.WebhookEvent) {
	body, err := protojson.Marshal(e)
	if err != nil {
		w.log.Error("webhook encode", "err", err)
		return
	}
	sum := sha256.Sum256(body)
	delay := w.cfg.Backoff
	for attempt := 1; attempt <= w.cfg.Attempts; attempt++ {
		err := w.send(url, body, base64.StdEncoding.EncodeToString(sum[:]))
		if err == nil {
			return
		}
		w.log.Warn("webhook delivery failed", "event", e.Event, "attempt", attempt, "err", err)
		if attempt == w.cfg.Attempts {
			break
		}
		select {
		case <-time.After(delay):
		case <-w.ctx.Done():
			return
		}
		delay *= 2
	}
	w.log.Error("webhook given up", "event", e.Event, "url", url)
}

func (w *Webhooks) send(url string, body []byte, digest string) error {
	token, err := lkauth.NewAccessToken(w.cfg.APIKey, w.secret).SetValidFor(5 * time.Minute).SetSha256(digest).ToJWT()
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	req, err := http.NewRequestWithContext(w.ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", token)
	req.Header.Set("Content-Type", "application/webhook+json")
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("status %s", resp.Status)
	}
	return nil
}

// Close stops accepting events and waits until the queued ones are
// delivered or ctx ends.
func (w *Webhooks) Close(ctx context.Context) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.closed = true
	for _, q := range w.queues {
		close(q)
	}
	w.mu.Unlock()
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		w.cancel()
		<-done
	}
	w.cancel()
}
