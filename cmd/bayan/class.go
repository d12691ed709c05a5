package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/livekit/protocol/auth"

	"github.com/spf13/cobra"

	bayanauth "github.com/bayan-dev/bayan/auth"

	"github.com/bayan-dev/bayan/config"
)

// classOptions are the flags every `class` subcommand shares: where the
// node is and the back end's API key.
type classOptions struct {
	url  string
	keys keyFlags
}

func (a *app) classCmd() *cobra.Command {
	var o classOptions
	cmd := &cobra.Command{
		Use:   "class",
		Short: "Create, list, start and end classes, and get join links (the classes' API)",
		Long: "Create, list, start and end classes, and get join links, through the classes' API of a node.\n\n" +
			keyFlagsHelp + "\n\n" +
			"The node is --url; else the configuration's public_url; else its bind address (localhost for\n" +
			"0.0.0.0) and port. With --api-secret the configuration is not read: --url then defaults to\n" +
			"http://localhost:" + strconv.Itoa(config.DefaultPort) + ".",
		Example: "  bayan class create --dev --title Demo --teacher ms-lee\n" +
			"  BAYAN_CONFIG=/etc/bayan.yaml bayan class list --state live",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&o.url, "url", "", "the node's HTTP address (default: from the configuration)")
	o.keys.register(pf)

	var (
		title                        string
		teachers, assistants, roster []string
		starts                       string
		length                       time.Duration
	)
	create := &cobra.Command{
		Use:     "create --title T --teacher ID [--student ID ...]",
		Short:   "Create a class; prints it as JSON",
		Example: "  bayan class create --title 'Algebra 1' --teacher ms-lee --student ana --student ben --starts 2026-12-01T09:00:00Z --length 45m",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			start := time.Now().UTC().Truncate(time.Minute)
			if starts != "" {
				t, err := time.Parse(time.RFC3339, starts)
				if err != nil {
					return fmt.Errorf("--starts %q: want RFC 3339, e.g. 2026-12-01T09:00:00Z", starts)
				}
				start = t
			}
			body := map[string]any{"title": title, "teachers": teachers, "assistants": assistants,
				"roster": roster, "starts_at": start, "ends_at": start.Add(length)}
			return a.classCall(cmd.Context(), &o, "POST", "/api/classes", body)
		},
	}
	create.Flags().StringVar(&title, "title", "", "the class's title")
	create.Flags().StringSliceVar(&teachers, "teacher", nil, "a teacher's identity (repeatable)")
	create.Flags().StringSliceVar(&assistants, "assistant", nil, "an assistant's identity (repeatable)")
	create.Flags().StringSliceVar(&roster, "student", nil, "a student on the roster (repeatable; none: anyone with a link)")
	create.Flags().StringVar(&starts, "starts", "", "start, RFC 3339 (default: now)")
	create.Flags().DurationVar(&length, "length", time.Hour, "how long the class is")

	var state string
	list := &cobra.Command{
		Use:   "list [--state live]",
		Short: "List classes as JSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := "/api/classes"
			if state != "" {
				path += "?state=" + url.QueryEscape(state)
			}
			return a.classCall(cmd.Context(), &o, "GET", path, nil)
		},
	}
	list.Flags().StringVar(&state, "state", "", "only classes in this state: scheduled, live or ended")

	byID := func(use, short, method, suffix string) *cobra.Command {
		return &cobra.Command{
			Use:   use + " ID",
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return a.classCall(cmd.Context(), &o, method, "/api/classes/"+url.PathEscape(args[0])+suffix, nil)
			},
		}
	}

	var identity, name string
	var observer bool
	join := &cobra.Command{
		Use:   "join ID --identity I",
		Short: "Print a join token and URL for one person, with the role the class gives them",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := map[string]string{"identity": identity, "name": name}
			if observer {
				body["role"] = "observer"
			}
			return a.classCall(cmd.Context(), &o, "POST", "/api/classes/"+url.PathEscape(args[0])+"/join", body)
		},
	}
	join.Flags().StringVar(&identity, "identity", "", "who joins")
	join.Flags().StringVar(&name, "name", "", "their display name")
	join.Flags().BoolVar(&observer, "observer", false, "join hidden, to watch only")

	var asCSV bool
	var grace time.Duration
	attendance := &cobra.Command{
		Use:   "attendance ID [--csv]",
		Short: "Print a class's attendance report: who came, when, for how long, late, left early, absent",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			q := url.Values{}
			if asCSV {
				q.Set("format", "csv")
			}
			if cmd.Flags().Changed("grace") {
				q.Set("grace", grace.String())
			}
			path := "/api/classes/" + url.PathEscape(args[0]) + "/attendance"
			if len(q) > 0 {
				path += "?" + q.Encode()
			}
			return a.classCall(cmd.Context(), &o, "GET", path, nil)
		},
	}
	attendance.Flags().BoolVar(&asCSV, "csv", false, "print CSV (a header row, one row per person) instead of JSON")
	attendance.Flags().DurationVar(&grace, "grace", 5*time.Minute, "how late one may arrive, or how early leave, unremarked")

	cmd.AddCommand(create, list, byID("get", "Print one class as JSON", "GET", ""),
		byID("start", "Take a class live", "POST", "/start"), byID("end", "End a class", "POST", "/end"), join, attendance,
		byID("polls", "Print a class's polls with their tallies as JSON", "GET", "/polls"), a.classDemoCmd(&o))
	return cmd
}

// classCall sends one request to the classes' API, signed as a back end
// (roomCreate), and prints the JSON answer; an error answer is the error.
func (a *app) classCall(ctx context.Context, o *classOptions, method, path string, body any) error {
	out, contentType, err := a.classRequest(ctx, o, method, path, body)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(contentType, "application/json") {
		_, err = a.stdout.Write(out) // CSV, printed as it came
		return err
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, out, "", "  ") != nil {
		pretty.Reset()
		pretty.Write(out)
	}
	_, err = fmt.Fprintln(a.stdout, strings.TrimSpace(pretty.String()))
	return err
}

// classRequest sends one request to the classes' API, signed as a back end
// (roomCreate), and returns the answer's body and content type; an error
// answer is the error.
func (a *app) classRequest(ctx context.Context, o *classOptions, method, path string, body any) ([]byte, string, error) {
	key, secret, cfg, err := a.signingKey(&o.keys)
	if err != nil {
		return nil, "", err
	}
	base := o.url
	switch {
	case base != "":
	case cfg != nil:
		base = nodeURL(cfg)
	default:
		base = nodeURL(config.Default())
	}
	tok, err := bayanauth.Mint(key, secret,
		&auth.ClaimGrants{Video: &auth.VideoGrant{RoomCreate: true, RoomList: true}}, time.Minute)
	if err != nil {
		return nil, "", fmt.Errorf("sign the request: %w", err)
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, "", err
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(base, "/")+path, rd)
	if err != nil {
		return nil, "", fmt.Errorf("node URL %q: %w", base, err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, "", fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var e struct{ Error string }
		if json.Unmarshal(out, &e) == nil && e.Error != "" {
			return nil, "", fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, e.Error)
		}
		return nil, "", fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	return out, resp.Header.Get("Content-Type"), nil
}
