package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/bayan-dev/bayan/config"
	"github.com/bayan-dev/bayan/internal/publicurl"
	"github.com/bayan-dev/bayan/server"
)

// shutdownTimeout bounds a graceful shutdown: clients are told to leave and
// queued webhooks are delivered within it.
const shutdownTimeout = 10 * time.Second

// configFlags are the flags serve and token share to find the configuration.
type configFlags struct {
	file string
	dev  bool
}

func (f *configFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.file, "config", "", "YAML configuration file (default $"+config.EnvConfig+")")
	fs.BoolVar(&f.dev, "dev", false, "development mode: bind 127.0.0.1, loopback ICE candidates only, "+
		"key "+config.DevAPIKey+" / secret "+config.DevAPISecret+" when no keys are configured")
}

func (a *app) serveCmd() *cobra.Command {
	var (
		cf    configFlags
		flags *config.Flags
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a Bayan node",
		Long: "Run a Bayan node: WebSocket signaling and the HTTP API on --port (7880), ICE over UDP on\n" +
			"--udp-port (7882, one port for all peers) and ICE-TCP on --tcp-port (7881).\n\n" +
			"Settings come from the YAML file (--config or $" + config.EnvConfig + "), then BAYAN_* environment\n" +
			"variables (API keys in $" + config.EnvKeys + " as \"key: secret\"), then these flags.\n" +
			"A port of 0 picks a free one. SIGINT or SIGTERM shut the node down gracefully.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(config.Options{File: cf.file, Dev: cf.dev, Flags: flags, LookupEnv: a.lookupEnv})
			if err != nil {
				return err
			}
			return a.serve(cmd.Context(), cfg)
		},
	}
	fs := cmd.Flags()
	cf.register(fs)
	flags = config.NewFlags(fs) // --bind, --port, ...: one per setting that has a flag
	return cmd
}

// serve runs a node until ctx ends or SIGINT/SIGTERM arrives, then shuts it
// down gracefully.
func (a *app) serve(ctx context.Context, cfg *config.Config) error {
	log := cfg.Logger(a.stderr)
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	s, err := server.New(serverConfig(cfg, log))
	if err != nil {
		return err
	}
	_, httpPort, _ := net.SplitHostPort(s.Addr())
	host, scheme := displayHost(cfg.BindAddress), "http"
	if cfg.TLS.Enabled() {
		scheme = "https"
	}
	if cfg.TLS.Domain != "" {
		host = cfg.TLS.Domain // the name its certificate carries
	}
	page := &url.URL{Scheme: scheme, Host: net.JoinHostPort(host, httpPort)}
	links := "each API request's own host (no public_url)"
	if cfg.PublicURL != "" {
		if page, err = publicurl.Parse(cfg.PublicURL); err != nil {
			return fmt.Errorf("public_url: %w", err) // config.Load checked it already
		}
		links = page.String()
	}
	log.Info("bayan started",
		"version", server.Version,
		"url", publicurl.Signaling(page),
		"http", page.String(),
		"links", links,
		"bind", cfg.BindAddress,
		"udp_port", s.UDPPort(),
		"tcp_port", cfg.RTC.TCPPort,
		"node_ip", []string(cfg.RTC.NodeIP),
	)
	if cfg.Dev {
		if cfg.Keys[config.DevAPIKey] == config.DevAPISecret && len(cfg.Keys) == 1 {
			log.Info("development mode: loopback ICE candidates only",
				"api_key", config.DevAPIKey, "api_secret", config.DevAPISecret)
		} else {
			log.Info("development mode: loopback ICE candidates only, with the configured keys")
		}
	}
	if a.started != nil {
		a.started(s)
	}

	<-ctx.Done()
	stop() // a second signal now kills the process at once
	log.Info("shutting down: telling clients to leave", "timeout", shutdownTimeout)
	closeCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := s.Close(closeCtx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("bayan stopped")
	return nil
}

// displayHost is the host clients on this machine reach a bind address at:
// the address itself, or localhost for the wildcard addresses.
func displayHost(bind string) string {
	if ip := net.ParseIP(bind); ip != nil && ip.IsUnspecified() {
		return "localhost"
	}
	return bind
}
