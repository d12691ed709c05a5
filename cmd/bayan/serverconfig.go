package main

import (
	"log/slog"
	"maps"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/bayan-dev/bayan/config"
	"github.com/bayan-dev/bayan/room"
	"github.com/bayan-dev/bayan/server"
	"github.com/bayan-dev/bayan/signaling"
)

// serverConfig is the server.Config that starts the node c configures; log
// may be nil (server.New then uses slog.Default()). Dev mode offers loopback
// ICE candidates only.
func serverConfig(c *config.Config, log *slog.Logger) server.Config {
	hostPort := func(port int) string { return net.JoinHostPort(c.BindAddress, strconv.Itoa(port)) }
	wh := signaling.WebhookConfig{URLs: slices.Clone(c.Webhook.URLs), APIKey: c.Webhook.APIKey}
	if len(wh.URLs) > 0 && wh.APIKey == "" {
		wh.APIKey = c.WebhookAPIKey()
	}
	tlsCfg := server.TLSConfig{CertFile: c.TLS.Cert, KeyFile: c.TLS.Key, Domain: c.TLS.Domain, ACMEEmail: c.TLS.ACMEEmail}
	if tlsCfg.Domain != "" {
		tlsCfg.CacheDir = c.ACMECache()
		if c.TLS.HTTPPort > 0 {
			tlsCfg.ChallengeAddr = hostPort(c.TLS.HTTPPort)
		}
	}
	return server.Config{
		Keys:         maps.Clone(c.Keys),
		HTTPAddr:     hostPort(c.Port),
		PublicURL:    c.PublicURL,
		UDPAddr:      hostPort(c.RTC.UDPPort),
		TCPAddr:      hostPort(c.RTC.TCPPort),
		NodeIPs:      slices.Clone([]string(c.RTC.NodeIP)),
		LoopbackOnly: c.Dev,
		Pprof:        c.Dev,
		NoBatching:   c.RTC.UnbatchedSends,
		StoreDSN:     c.StoreDSN(),
		Room: room.Config{
			EmptyTimeout:       time.Duration(c.Room.EmptyTimeout),
			DepartureTimeout:   time.Duration(c.Room.DepartureTimeout),
			MaxParticipants:    c.Room.MaxParticipants,
			AudioTopK:          c.Audio.TopK,
			AudioTopKThreshold: c.Audio.TopKThreshold,
			AudienceThreshold:  c.Room.LargeRoomThreshold,
		},
		Webhook:        wh,
		ReconnectGrace: time.Duration(c.ReconnectGrace),
		MaxJoining:     c.Signal.MaxJoining,
		JoinWait:       time.Duration(c.Signal.JoinWait),
		HTTP:           server.HTTPLimits{MaxConnsPerIP: c.HTTP.MaxConnsPerIP},
		TLS:            tlsCfg,
		Log:            log,
	}
}
