package classroom

import (
	"bytes"
	"encoding/csv"
	"slices"
	"testing"
	"time"

	"github.com/bayan-dev/bayan/store"
)

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// minute is t0 plus m minutes.
func minute(m float64) time.Time { return t0.Add(time.Duration(m * float64(time.Minute))) }

// timeline turns (identity, role, kind, minute) rows into store events.
func timeline(rows ...any) []store.AttendanceEvent {
	var out []store.AttendanceEvent
	for i := 0; i+3 < len(rows); i += 4 {
		out = append(out, store.AttendanceEvent{ID: int64(len(out) + 1), ClassID: "CL_x",
			Identity: rows[i].(string), Role: rows[i+1].(store.Role), Kind: rows[i+2].(store.AttendanceKind),
			At: minute(rows[i+3].(float64))})
	}
	return out
}

func find(t *testing.T, as []Attendee, identity string) Attendee {
	t.Helper()
	for _, a := range as {
		if a.Identity == identity {
			return a
		}
	}
	t.Fatalf("%s is not in the report: %+v", identity, as)
	return Attendee{}
}

func TestAttendanceReportEndedClass(t *testing.T) {
	c := store.Class{ID: "CL_x", Title: "Algebra", Teachers: []string{"ms-lee"}, Assistants: []string{"tom"},
		Roster: []string{"ana", "ben", "cat", "dan"}, StartsAt: t0, EndsAt: minute(60), State: store.ClassEnded,
		StartedAt: minute(1), EndedAt: minute(61)}
	const (
		S = store.RoleStudent
		T = store.RoleTeacher
		J = store.Join
		L = store.Leave
	)
	ev := timeline(
		"ms-lee", T, J, 0.0,
		"ana", S, J, 1.0,
		"eve", S, J, 2.0,
		"eve", S, J, 3.0, // the node crashed: eve's leave never came, she joined again
		"dan", S, L, 4.0, // a leave with no join: ignored
		"dan", S, J, 5.0,
		"ben", S, J, 10.0,
		"ana", S, L, 20.0,
		"ana", S, J, 21.0, // reconnected after a minute
		"ben", S, L, 30.0,
		"dan", S, L, 58.0,
		"ana", S, L, 61.0,
		"ms-lee", T, L, 61.0,
	)
	rep := buildAttendance(c, ev, minute(90), DefaultGrace)
	if !rep.Ended || !rep.Start.Equal(minute(1)) || !rep.End.Equal(minute(61)) || rep.GraceSeconds != 300 {
		t.Fatalf("report frame: start %v end %v ended %v grace %d", rep.Start, rep.End, rep.Ended, rep.GraceSeconds)
	}
	ids := func(as []Attendee) []string {
		var out []string
		for _, a := range as {
			out = append(out, a.Identity)
		}
		return out
	}
	if got := ids(rep.Students); !slices.Equal(got, []string{"ana", "ben", "cat", "dan", "eve"}) {
		t.Fatalf("students %v", got)
	}
	if got := ids(rep.Staff); !slices.Equal(got, []string{"ms-lee", "tom"}) {
		t.Fatalf("staff %v", got)
	}

	type want struct {
		minutes             float64
		joins               int
		late, early, absent bool
		first, last         float64 // -1: unset
		onRoster            bool
	}
	for id, w := range map[string]want{
		"ana": {minutes: 59, joins: 2, first: 1, last: 61, onRoster: true},
		"ben": {minutes: 20, joins: 1, late: true, early: true, first: 10, last: 30, onRoster: true},
		"cat": {absent: true, first: -1, last: -1, onRoster: true},
		"dan": {minutes: 53, joins: 1, first: 5, last: 58, onRoster: true},
		// The lost leave: her interval runs to the class's end, once.
		"eve": {minutes: 59, joins: 2, first: 2, last: 61},
	} {
		a := find(t, rep.Students, id)
		if a.MinutesPresent != w.minutes || a.SecondsPresent != int64(w.minutes*60) || a.Joins != w.joins ||
			a.Late != w.late || a.LeftEarly != w.early || a.Absent != w.absent || a.OnRoster != w.onRoster ||
			a.Present || a.Role != "student" {
			t.Errorf("%s = %+v, want %+v", id, a, w)
		}
		if (w.first < 0) != (a.FirstJoin == nil) || (a.FirstJoin != nil && !a.FirstJoin.Equal(minute(w.first))) {
			t.Errorf("%s first join %v, want minute %v", id, a.FirstJoin, w.first)
		}
		if (w.last < 0) != (a.LastLeave == nil) || (a.LastLeave != nil && !a.LastLeave.Equal(minute(w.last))) {
			t.Errorf("%s last leave %v, want minute %v", id, a.LastLeave, w.last)
		}
	}
	if a := find(t, rep.Staff, "ms-lee"); a.Role != "teacher" || a.MinutesPresent != 61 || a.Absent {
		t.Errorf("teacher = %+v", a)
	}
	if a := find(t, rep.Staff, "tom"); a.Role != "assistant" || !a.Absent || a.Joins != 0 || a.MinutesPresent != 0 {
		t.Errorf("absent assistant = %+v", a)
	}
}

// A class still going on: open intervals run to now, their people are
// present and nobody has left early yet.
func TestAttendanceReportLiveClass(t *testing.T) {
	c := store.Class{ID: "CL_x", Teachers: []string{"ms-lee"}, StartsAt: t0, EndsAt: minute(60),
		State: store.ClassLive, StartedAt: t0}
	ev := timeline(
		"ana", store.RoleStudent, store.Join, 2.0,
		"ben", store.RoleStudent, store.Join, 3.0,
		"ben", store.RoleStudent, store.Leave, 4.0,
		"ana", store.RoleStudent, store.Leave, 4.0, // same minute as ben's leave
		"ana", store.RoleStudent, store.Join, 10.0,
	)
	rep := buildAttendance(c, ev, minute(30), DefaultGrace)
	if rep.Ended || !rep.End.Equal(minute(30)) {
		t.Fatalf("end %v ended %v", rep.End, rep.Ended)
	}
	ana := find(t, rep.Students, "ana")
	if !ana.Present || ana.LastLeave != nil || ana.MinutesPresent != 22 || ana.Joins != 2 || ana.LeftEarly || ana.Late {
		t.Errorf("ana = %+v", ana)
	}
	ben := find(t, rep.Students, "ben")
	if ben.Present || ben.LastLeave == nil || !ben.LastLeave.Equal(minute(4)) || ben.MinutesPresent != 1 || ben.LeftEarly || ben.OnRoster {
		t.Errorf("ben = %+v", ben)
	}
	if len(rep.Staff) != 1 || !rep.Staff[0].Absent {
		t.Errorf("staff = %+v", rep.Staff)
	}
}

// A class that never went live is measured from its schedule.
func TestAttendanceReportScheduledStart(t *testing.T) {
	c := store.Class{ID: "CL_x", Teachers: []string{"t"}, Roster: []string{"ana"}, StartsAt: t0, EndsAt: minute(60),
		State: store.ClassScheduled}
	ev := timeline("ana", store.RoleStudent, store.Join, 5.5)
	rep := buildAttendance(c, ev, minute(6.5), time.Minute)
	if a := find(t, rep.Students, "ana"); !a.Late || !a.Present || a.MinutesPresent != 1 {
		t.Errorf("ana = %+v (start %v)", a, rep.Start)
	}
	if rep := buildAttendance(c, ev, minute(6.5), 10*time.Minute); find(t, rep.Students, "ana").Late {
		t.Error("late within a 10 minute grace")
	}
}

func TestUnionLength(t *testing.T) {
	iv := func(a, b float64) interval { return interval{minute(a), minute(b)} }
	for _, c := range []struct {
		name string
		ivs  []interval
		want time.Duration
	}{
		{"none", nil, 0},
		{"one", []interval{iv(0, 10)}, 10 * time.Minute},
		{"overlapping", []interval{iv(5, 15), iv(0, 10)}, 15 * time.Minute},
		{"contained", []interval{iv(0, 30), iv(5, 10)}, 30 * time.Minute},
		{"touching", []interval{iv(20, 25), iv(25, 30)}, 10 * time.Minute},
		{"apart", []interval{iv(0, 10), iv(20, 25)}, 15 * time.Minute},
		{"backwards skipped", []interval{iv(10, 5), iv(0, 1)}, time.Minute},
	} {
		if got := unionLength(c.ivs); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestAttendanceCSV(t *testing.T) {
	c := store.Class{ID: "CL_x", Teachers: []string{"ms-lee"}, Roster: []string{`o"neil, jr`, "ana", "=HYPERLINK(1)"}, StartsAt: t0,
		EndsAt: minute(60), State: store.ClassEnded, StartedAt: t0, EndedAt: minute(60)}
	ev := timeline("ana", store.RoleStudent, store.Join, 0.0, "ana", store.RoleStudent, store.Leave, 30.0)
	var buf bytes.Buffer
	if err := buildAttendance(c, ev, minute(90), DefaultGrace).writeCSV(&buf); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("read back: %v\n%s", err, buf.String())
	}
	if len(rows) != 5 || !slices.Equal(rows[0], csvHeader) {
		t.Fatalf("rows %q", rows)
	}
	byID := map[string][]string{}
	for _, r := range rows[1:] {
		byID[r[0]] = r
	}
	if want := []string{"ana", "student", "true", "false", "2026-11-02T09:00:00Z", "2026-11-02T09:30:00Z", "false", "30.0", "1", "false", "true"}; !slices.Equal(byID["ana"], want) {
		t.Errorf("ana's row %q, want %q", byID["ana"], want)
	}
	if r := byID[`o"neil, jr`]; r == nil || r[3] != "true" || r[4] != "" {
		t.Errorf("absent row %q", r)
	}
	// A spreadsheet must show this identity, not run it.
	if byID["'=HYPERLINK(1)"] == nil {
		t.Errorf("formula-like identity not kept as text: %q", rows)
	}
	if r := rows[len(rows)-1]; r[0] != "ms-lee" || r[1] != "teacher" {
		t.Errorf("staff row %q", r)
	}
}
