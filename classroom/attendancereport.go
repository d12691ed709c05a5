package classroom

import (
	"cmp"
	"encoding/csv"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bayan-dev/bayan/store"
)

// DefaultGrace is how late a student may arrive, or how early leave,
// before the attendance report says so.
const DefaultGrace = 5 * time.Minute

// AttendanceReport is who came to a class and for how long.
type AttendanceReport struct {
	Class string `json:"class"`
	Title string `json:"title"`
	State string `json:"state"`
	// Start is what lateness is measured from: when the class went live,
	// or its scheduled start if it never did.
	Start time.Time `json:"start"`
	// End is when the class ended, or the report's time while it has not:
	// intervals still open are counted up to it.
	End          time.Time `json:"end"`
	Ended        bool      `json:"ended"`
	GraceSeconds int       `json:"grace_seconds"`
	// Students are the roster's and any other student seen, by identity;
	// Staff the class's teachers and assistants.
	Students []Attendee `json:"students"`
	Staff    []Attendee `json:"staff"`
}

// Attendee is one person's attendance of a class.
type Attendee struct {
	Identity string `json:"identity"`
	Role     string `json:"role"`
	OnRoster bool   `json:"on_roster"`
	// Absent: never joined.
	Absent    bool       `json:"absent"`
	FirstJoin *time.Time `json:"first_join,omitempty"`
	// LastLeave is unset while the person is still there. A leave never
	// recorded (the node stopped without seeing it) counts as leaving when
	// the class ended.
	LastLeave *time.Time `json:"last_leave,omitempty"`
	// Present: connected now (the class has not ended).
	Present bool `json:"present"`
	// SecondsPresent is the time connected, each moment counted once
	// however many times the person reconnected.
	SecondsPresent int64   `json:"seconds_present"`
	MinutesPresent float64 `json:"minutes_present"`
	Joins          int     `json:"joins"`
	// Late: first joined more than the grace after Start. LeftEarly: last
	// left more than the grace before the class ended (only known once it
	// has).
	Late      bool `json:"late"`
	LeftEarly bool `json:"left_early"`
}

// interval is a stretch of time someone was connected, [from, to).
type interval struct{ from, to time.Time }

// buildAttendance computes the report of class c from its attendance
// events (in store order: by time, then as recorded), as of now.
//
// Events are read per identity as a toggle: a join opens an interval, a
// leave closes the open one. A join while an interval is open (a second
// connection, or a join after a crash lost the leave) continues it; a
// leave with none open is ignored. An interval still open is counted to
// the class's end or, while it goes on, to now.
func buildAttendance(c store.Class, events []store.AttendanceEvent, now time.Time, grace time.Duration) AttendanceReport {
	rep := AttendanceReport{Class: c.ID, Title: c.Title, State: string(c.State), Start: c.StartsAt,
		End: now.UTC(), GraceSeconds: int(grace / time.Second), Students: []Attendee{}, Staff: []Attendee{}}
	if !c.StartedAt.IsZero() {
		rep.Start = c.StartedAt
	}
	if c.State == store.ClassEnded && !c.EndedAt.IsZero() {
		rep.End, rep.Ended = c.EndedAt, true
	}

	type timeline struct {
		role      store.Role
		joins     int
		open      bool
		openedAt  time.Time
		intervals []interval
		first     time.Time
	}
	byID := map[string]*timeline{}
	for _, e := range events {
		tl := byID[e.Identity]
		if tl == nil {
			tl = &timeline{}
			byID[e.Identity] = tl
		}
		tl.role = e.Role
		switch e.Kind {
		case store.Join:
			tl.joins++
			if tl.first.IsZero() {
				tl.first = e.At
			}
			if !tl.open {
				tl.open, tl.openedAt = true, e.At
			}
		case store.Leave:
			if tl.open {
				tl.intervals = append(tl.intervals, interval{tl.openedAt, e.At})
				tl.open = false
			}
		}
	}

	people := map[string]Attendee{}
	add := func(identity string, role store.Role, onRoster bool) {
		people[identity] = Attendee{Identity: identity, Role: string(role), OnRoster: onRoster, Absent: true}
	}
	for _, id := range c.Roster {
		add(id, store.RoleStudent, true)
	}
	for _, id := range c.Assistants {
		add(id, store.RoleAssistant, false)
	}
	for _, id := range c.Teachers {
		add(id, store.RoleTeacher, false)
	}
	for id, tl := range byID {
		a, known := people[id]
		if !known {
			a = Attendee{Identity: id, Role: string(tl.role)}
		}
		a.Absent = false
		a.Joins = tl.joins
		first := tl.first
		a.FirstJoin = &first
		ivs := tl.intervals
		if tl.open {
			ivs = append(ivs, interval{tl.openedAt, later(tl.openedAt, rep.End)})
			a.Present = !rep.Ended
		}
		if !a.Present && len(ivs) > 0 {
			last := ivs[len(ivs)-1].to
			a.LastLeave = &last
		}
		d := unionLength(ivs)
		a.SecondsPresent = int64(d.Round(time.Second) / time.Second)
		a.MinutesPresent = math.Round(d.Minutes()*10) / 10
		a.Late = first.Sub(rep.Start) > grace
		a.LeftEarly = rep.Ended && a.LastLeave != nil && rep.End.Sub(*a.LastLeave) > grace
		people[id] = a
	}

	for _, a := range people {
		if a.Role == string(store.RoleStudent) {
			rep.Students = append(rep.Students, a)
		} else {
			rep.Staff = append(rep.Staff, a)
		}
	}
	byIdentity := func(x, y Attendee) int { return cmp.Compare(x.Identity, y.Identity) }
	slices.SortFunc(rep.Students, byIdentity)
	slices.SortFunc(rep.Staff, byIdentity)
	return rep
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// unionLength is the length of the union of the intervals: time covered
// by two of them counts once.
func unionLength(ivs []interval) time.Duration {
	ivs = slices.Clone(ivs)
	slices.SortFunc(ivs, func(x, y interval) int { return x.from.Compare(y.from) })
	var (
		total time.Duration
		cur   interval
		have  bool
	)
	for _, iv := range ivs {
		if iv.to.Before(iv.from) {
			continue
		}
		if have && !iv.from.After(cur.to) {
			cur.to = later(cur.to, iv.to)
			continue
		}
		if have {
			total += cur.to.Sub(cur.from)
		}
		cur, have = iv, true
	}
	if have {
		total += cur.to.Sub(cur.from)
	}
	return total
}

// spreadsheetSafe keeps a cell that a spreadsheet would read as a formula
// (=, +, -, @, tab or carriage return first: an identity is whatever the
// school's back end chose) as text, with a leading apostrophe.
func spreadsheetSafe(cell string) string {
	if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
		return "'" + cell
	}
	return cell
}

// csvHeader names the columns of the report as CSV.
var csvHeader = []string{"identity", "role", "on_roster", "absent", "first_join", "last_leave", "present",
	"minutes_present", "joins", "late", "left_early"}

// writeCSV writes the report as CSV: a header row, then students and staff,
// one row each; times in RFC 3339 (UTC), empty when unknown.
func (r AttendanceReport) writeCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	stamp := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, a := range slices.Concat(r.Students, r.Staff) {
		row := []string{spreadsheetSafe(a.Identity), a.Role, strconv.FormatBool(a.OnRoster), strconv.FormatBool(a.Absent),
			stamp(a.FirstJoin), stamp(a.LastLeave), strconv.FormatBool(a.Present),
			strconv.FormatFloat(a.MinutesPresent, 'f', 1, 64), strconv.Itoa(a.Joins),
			strconv.FormatBool(a.Late), strconv.FormatBool(a.LeftEarly)}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
