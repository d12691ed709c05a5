package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/livekit/protocol/auth"

	"github.com/spf13/cobra"

	bayanauth "github.com/bayan-dev/bayan/auth"
)

// defaultTokenTTL is how long a minted token is valid, LiveKit's default.
const defaultTokenTTL = 6 * time.Hour

// tokenOptions are the flags of `token create`.
type tokenOptions struct {
	keys                 keyFlags
	room, identity, name string
	metadata             string
	publish, subscribe   bool
	admin, create, list  bool
	ttl                  time.Duration
}

func (a *app) tokenCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Mint access tokens",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(a.tokenCreateCmd())
	return cmd
}

func (a *app) tokenCreateCmd() *cobra.Command {
	var o tokenOptions
	cmd := &cobra.Command{
		Use:   "create --room R --identity I",
		Short: "Print an access token for joining a room (or calling the RoomService API)",
		Long: "Print an access token signed with an API key.\n\n" +
			keyFlagsHelp + "\n\n" +
			"With --room the token joins that room (and --identity is required). Without --room it may\n" +
			"only carry --create and --list, for the RoomService API.",
		Example: "  bayan token create --dev --room demo --identity alice\n" +
			"  bayan token create --room demo --identity viewer --publish=false --ttl 1h",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tok, err := a.mintToken(&o)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(a.stdout, tok)
			return err
		},
	}
	fs := cmd.Flags()
	o.keys.register(fs)
	fs.StringVar(&o.room, "room", "", "room the token joins")
	fs.StringVar(&o.identity, "identity", "", "participant identity")
	fs.StringVar(&o.name, "name", "", "participant display name")
	fs.StringVar(&o.metadata, "metadata", "", "participant metadata")
	fs.BoolVar(&o.publish, "publish", true, "may publish tracks")
	fs.BoolVar(&o.subscribe, "subscribe", true, "may subscribe to tracks")
	fs.BoolVar(&o.admin, "admin", false, "room admin: may manage participants of --room through the API")
	fs.BoolVar(&o.create, "create", false, "may create and delete rooms through the API")
	fs.BoolVar(&o.list, "list", false, "may list rooms through the API")
	fs.DurationVar(&o.ttl, "ttl", defaultTokenTTL, "how long the token is valid")
	return cmd
}

// mintToken builds and signs the token described by o.
func (a *app) mintToken(o *tokenOptions) (string, error) {
	if o.ttl <= 0 {
		return "", errors.New("--ttl must be positive")
	}
	if o.room == "" {
		if o.admin {
			return "", errors.New("--admin needs --room: admin rights are per room")
		}
		if !o.create && !o.list {
			return "", errors.New("--room is required (or --create / --list for an API-only token)")
		}
	} else if o.identity == "" {
		return "", errors.New("--identity is required to join a room")
	}
	key, secret, _, err := a.signingKey(&o.keys)
	if err != nil {
		return "", err
	}
	g := &auth.VideoGrant{
		RoomAdmin:  o.admin,
		RoomCreate: o.create,
		RoomList:   o.list,
	}
	if o.room != "" {
		g.RoomJoin = true
		g.Room = o.room
		g.SetCanPublish(o.publish)
		g.SetCanSubscribe(o.subscribe)
	}
	return bayanauth.Mint(key, secret, &auth.ClaimGrants{
		Identity: o.identity, Name: o.name, Metadata: o.metadata, Video: g,
	}, o.ttl)
}
