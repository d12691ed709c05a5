package classroom

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bayan-dev/bayan/auth"
	"github.com/bayan-dev/bayan/internal/publicurl"
	"github.com/bayan-dev/bayan/store"
)

// maxBody bounds a request body: a class with a roster of thousands of
// identities fits well within it.
const maxBody = 1 << 20

// API is the classes' HTTP JSON API, for a school's back end:
//
//	POST /api/classes                create a class (scheduled)
//	GET  /api/classes[?state=live]   list classes
//	GET  /api/classes/{id}           one class
//	POST /api/classes/{id}/start     take it live
//	POST /api/classes/{id}/end       end it
//	POST /api/classes/{id}/join      a join token for one person, with the role the class gives them
//	GET  /api/classes/{id}/attendance[?format=csv][&grace=5m]  who came, when and for how long
//	GET  /api/classes/{id}/polls     the class's polls with their tallies
//
// Every request carries a LiveKit access token (Authorization: Bearer)
// signed with one of the node's API keys and granting roomCreate or
// roomAdmin, as LiveKit's RoomService asks of a back end. The class's
// attendance and polls may also be read with a teacher's or an
// assistant's join token for that class.
type API struct {
	store *store.Store
	keys  *auth.Keys
	// public is the base of the join links and signaling URL; nil: the
	// host each request was addressed to.
	public *url.URL
	log    *slog.Logger
	now    func() time.Time
}

// NewAPI returns the API over st, authorizing with keys; its join links
// and signaling URL are on public, or, when public is nil, on the host the
// back end's own request named (a node bound to a wildcard address has no
// better one).
func NewAPI(st *store.Store, keys *auth.Keys, public *url.URL, log *slog.Logger) *API {
	return &API{store: st, keys: keys, public: public, log: log, now: time.Now}
}

// Handler serves the API.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/classes", a.authorized(a.create))
	mux.HandleFunc("GET /api/classes", a.authorized(a.list))
	mux.HandleFunc("GET /api/classes/{id}", a.authorized(a.get))
	mux.HandleFunc("POST /api/classes/{id}/start", a.authorized(a.setState(store.ClassLive)))
	mux.HandleFunc("POST /api/classes/{id}/end", a.authorized(a.setState(store.ClassEnded)))
	mux.HandleFunc("POST /api/classes/{id}/join", a.authorized(a.join))
	mux.HandleFunc("GET /api/classes/{id}/attendance", a.staffOrAuthorized(a.attendance))
	mux.HandleFunc("GET /api/classes/{id}/polls", a.staffOrAuthorized(a.polls))
	return mux
}

// staffOrAuthorized lets through what authorized does, and also requests
// whose token is a teacher's or an assistant's join token for the class
// named in the path (the role from its bayan.role attribute).
func (a *API) staffOrAuthorized(h func(http.ResponseWriter, *http.Request, *auth.Verified)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, ok := a.verify(w, r)
		if !ok {
			return
		}
		g := v.Grants.Video
		role := store.Role(v.Grants.Attributes[RoleAttribute])
		backEnd := g != nil && (g.RoomCreate || g.RoomAdmin)
		staff := g != nil && g.RoomJoin && g.Room == r.PathValue("id") &&
			(role == store.RoleTeacher || role == store.RoleAssistant)
		if !backEnd && !staff {
			writeError(w, http.StatusForbidden,
				"permission denied: the token needs roomCreate or roomAdmin, or to be this class's teacher's or assistant's")
			return
		}
		h(w, r, v)
	}
}

// attendance serves the class's attendance report, as JSON or, with
// format=csv, as CSV; grace (a duration, default DefaultGrace) is the
// allowance for arriving late or leaving early.
func (a *API) attendance(w http.ResponseWriter, r *http.Request, _ *auth.Verified) {
	q := r.URL.Query()
	format := q.Get("format")
	if format != "" && format != "json" && format != "csv" {
		writeError(w, http.StatusBadRequest, "format: want json or csv")
		return
	}
	grace := DefaultGrace
	if g := q.Get("grace"); g != "" {
		d, err := time.ParseDuration(g)
		if err != nil || d < 0 || d > 24*time.Hour {
			writeError(w, http.StatusBadRequest, "grace: want a duration from 0s to 24h, e.g. 5m")
			return
		}
		grace = d
	}
	c, err := a.store.GetClass(r.Context(), r.PathValue("id"))
	if err != nil {
		a.storeError(w, err)
		return
	}
	events, err := a.store.AttendanceEvents(r.Context(), c.ID)
	if err != nil {
		a.storeError(w, err)
		return
	}
	rep := buildAttendance(c, events, a.now(), grace)
	if format != "csv" {
		writeJSON(w, http.StatusOK, rep)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="attendance-`+c.ID+`.csv"`)
	if err := rep.writeCSV(w); err != nil {
		a.log.Warn("classroom: attendance CSV", "class", c.ID, "err", err)
	}
}

// pollJSON is a poll with its tally as the API shows it.
type pollJSON struct {
	ID        string     `json:"id"`
	Question  string     `json:"question"`
	Options   []string   `json:"options"`
	Multiple  bool       `json:"multiple"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	ClosedAt  *time.Time `json:"closed_at,omitempty"`
	Tally     []int      `json:"tally"`
	Voters    int        `json:"voters"`
}

// polls lists the class's polls, oldest first, with their tallies.
func (a *API) polls(w http.ResponseWriter, r *http.Request, _ *auth.Verified) {
	c, err := a.store.GetClass(r.Context(), r.PathValue("id"))
	if err != nil {
		a.storeError(w, err)
		return
	}
	tallies, err := a.store.ClassPolls(r.Context(), c.ID)
	if err != nil {
		a.storeError(w, err)
		return
	}
	out := make([]pollJSON, len(tallies))
	for i, t := range tallies {
		p := t.Poll
		out[i] = pollJSON{ID: p.ID, Question: p.Question, Options: p.Options, Multiple: p.Multiple,
			CreatedBy: p.CreatedBy, CreatedAt: p.CreatedAt, Tally: t.Counts, Voters: t.Voters}
		if !p.Open() {
			closed := p.ClosedAt
			out[i].ClosedAt = &closed
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"class": c.ID, "polls": out})
}

// verify checks the request's bearer token, answering 401 when it is
// missing, forged or expired.
func (a *API) verify(w http.ResponseWriter, r *http.Request) (*auth.Verified, bool) {
	raw, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	v, err := a.keys.Verify(strings.TrimSpace(raw))
	if err != nil {
		writeError(w, http.StatusUnauthorized, "unauthenticated: "+err.Error())
		return nil, false
	}
	return v, true
}

// authorized lets through requests whose token grants roomCreate or
// roomAdmin, handing the verified token to h.
func (a *API) authorized(h func(http.ResponseWriter, *http.Request, *auth.Verified)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, ok := a.verify(w, r)
		if !ok {
			return
		}
		g := v.Grants.Video
		if g == nil || (!g.RoomCreate && !g.RoomAdmin) {
			writeError(w, http.StatusForbidden, "permission denied: the token needs roomCreate or roomAdmin")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		h(w, r, v)
	}
}

// classJSON is a class as the API shows it.
type classJSON struct {
	ID         string     `json:"id,omitempty"`
	Title      string     `json:"title"`
	Teachers   []string   `json:"teachers"`
	Assistants []string   `json:"assistants,omitempty"`
	Roster     []string   `json:"roster,omitempty"`
	StartsAt   time.Time  `json:"starts_at"`
	EndsAt     time.Time  `json:"ends_at"`
	State      string     `json:"state,omitempty"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	EndedAt    *time.Time `json:"ended_at,omitempty"`
}

func toJSON(c store.Class) classJSON {
	out := classJSON{ID: c.ID, Title: c.Title, Teachers: c.Teachers, Assistants: c.Assistants, Roster: c.Roster,
		StartsAt: c.StartsAt, EndsAt: c.EndsAt, State: string(c.State)}
	if !c.StartedAt.IsZero() {
		out.StartedAt = &c.StartedAt
	}
	if !c.EndedAt.IsZero() {
		out.EndedAt = &c.EndedAt
	}
	return out
}

func (a *API) create(w http.ResponseWriter, r *http.Request, _ *auth.Verified) {
	var in classJSON
	if !decode(w, r, &in) {
		return
	}
	c, err := a.store.CreateClass(r.Context(), store.Class{Title: in.Title, Teachers: in.Teachers,
		Assistants: in.Assistants, Roster: in.Roster, StartsAt: in.StartsAt, EndsAt: in.EndsAt})
	if err != nil {
		a.storeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, toJSON(c))
}

func (a *API) list(w http.ResponseWriter, r *http.Request, _ *auth.Verified) {
	var f store.ClassFilter
	for _, s := range r.URL.Query()["state"] {
		f.States = append(f.States, store.ClassState(s))
	}
	f.Member = r.URL.Query().Get("member")
	cs, err := a.store.ListClasses(r.Context(), f)
	if err != nil {
		a.storeError(w, err)
		return
	}
	out := make([]classJSON, len(cs))
	for i, c := range cs {
		out[i] = toJSON(c)
	}
	writeJSON(w, http.StatusOK, map[string]any{"classes": out})
}

func (a *API) get(w http.ResponseWriter, r *http.Request, _ *auth.Verified) {
	c, err := a.store.GetClass(r.Context(), r.PathValue("id"))
	if err != nil {
		a.storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, toJSON(c))
}

func (a *API) setState(to store.ClassState) func(http.ResponseWriter, *http.Request, *auth.Verified) {
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Verified) {
		at := a.now()
		c, err := a.store.UpdateClassState(r.Context(), r.PathValue("id"), to, at)
		if err != nil {
			a.storeError(w, err)
			return
		}
		logStateChange(a.log, c, at, "")
		writeJSON(w, http.StatusOK, toJSON(c))
	}
}

// joinRequest asks for one person's token; Role may only ask for
// "observer": members get the role the class gives them.
type joinRequest struct {
	Identity string `json:"identity"`
	Name     string `json:"name"`
	Role     string `json:"role,omitempty"`
}

func (a *API) join(w http.ResponseWriter, r *http.Request, v *auth.Verified) {
	var in joinRequest
	if !decode(w, r, &in) {
		return
	}
	in.Identity = strings.TrimSpace(in.Identity)
	if in.Identity == "" {
		writeError(w, http.StatusBadRequest, "identity is required")
		return
	}
	c, err := a.store.GetClass(r.Context(), r.PathValue("id"))
	if err != nil {
		a.storeError(w, err)
		return
	}
	if c.State == store.ClassEnded {
		writeError(w, http.StatusConflict, "the class has ended")
		return
	}
	role, member := c.Member(in.Identity)
	switch {
	case in.Role == string(RoleObserver):
		role = RoleObserver
	case in.Role != "" && (!member || in.Role != string(role)):
		writeError(w, http.StatusForbidden, fmt.Sprintf("%s is not a %s of this class", in.Identity, in.Role))
		return
	case !member && len(c.Roster) > 0:
		writeError(w, http.StatusForbidden, in.Identity+" is not on this class's roster")
		return
	case !member:
		role = store.RoleStudent // an open class: anyone with a link is a student
	}
	name := in.Name
	if name == "" {
		name = in.Identity
	}
	token, err := joinToken(v.APIKey, a.keys.Secret(v.APIKey), &c, in.Identity, name, role, a.now())
	if err != nil {
		a.log.Error("classroom: join token", "class", c.ID, "err", err)
		writeError(w, http.StatusInternalServerError, "could not mint a token")
		return
	}
	base := a.public
	if base == nil {
		base = publicurl.FromRequest(r)
	}
	writeJSON(w, http.StatusOK, map[string]string{"url": publicurl.Signaling(base), "token": token, "role": string(role),
		"room": c.ID, "link": base.String() + "/?t=" + url.QueryEscape(token)})
}

// decode reads a JSON body into v, answering 400 (or 413) and reporting
// false when it cannot.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", tooBig.Limit))
			return false
		}
		writeError(w, http.StatusBadRequest, "malformed JSON: "+err.Error())
		return false
	}
	return true
}

// storeError answers a store error with its HTTP meaning.
func (a *API) storeError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, store.ErrInvalid):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, store.ErrConflict):
		writeError(w, http.StatusConflict, err.Error())
	default:
		a.log.Error("classroom: store", "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
