package classroom

import (
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"

	"github.com/bayan-dev/bayan/store"
)

// joinTokenFor asks the API for identity's join token in class id.
func (f *apiFixture) joinTokenFor(backEnd, id, identity string) string {
	f.t.Helper()
	var j struct{ Token string }
	if st := f.do("POST", "/api/classes/"+id+"/join", backEnd, map[string]string{"identity": identity}, &j); st != http.StatusOK || j.Token == "" {
		f.t.Fatalf("join %s: %d", identity, st)
	}
	return j.Token
}

// get fetches path with token and returns the status, content type and
// body.
func (f *apiFixture) get(path, token string) (int, string, string) {
	f.t.Helper()
	resp := f.send("GET", path, token, nil)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

func TestAttendanceAndPollsAPI(t *testing.T) {
	f := newAPIFixture(t)
	ctx := context.Background()
	backEnd := backendToken(t, key, secret, &auth.VideoGrant{RoomCreate: true})
	var c, other classJSON
	if st := f.do("POST", "/api/classes", backEnd, newClassBody("ana", "ben, the \"second\""), &c); st != http.StatusCreated {
		t.Fatalf("create: %d", st)
	}
	if st := f.do("POST", "/api/classes", backEnd, newClassBody("ana"), &other); st != http.StatusCreated {
		t.Fatalf("create other: %d", st)
	}
	if st := f.do("POST", "/api/classes/"+c.ID+"/start", backEnd, nil, &c); st != http.StatusOK {
		t.Fatalf("start: %d", st)
	}
	// ana came, left and came back; ben never came.
	started := *c.StartedAt
	for _, e := range []struct {
		kind store.AttendanceKind
		at   time.Duration
	}{{store.Join, 0}, {store.Leave, 10 * time.Minute}, {store.Join, 12 * time.Minute}, {store.Leave, 20 * time.Minute}} {
		if _, err := f.st.RecordAttendance(ctx, c.ID, "ana", store.RoleStudent, e.kind, started.Add(e.at)); err != nil {
			t.Fatal(err)
		}
	}
	p, err := f.st.CreatePoll(ctx, store.Poll{ClassID: c.ID, Question: "2+2?", Options: []string{"3", "4"}, CreatedBy: "ms-lee"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.st.AnswerPoll(ctx, p.ID, "ana", []int{1}); err != nil {
		t.Fatal(err)
	}

	teacher := f.joinTokenFor(backEnd, c.ID, "ms-lee")
	assistant := f.joinTokenFor(backEnd, c.ID, "tom")
	student := f.joinTokenFor(backEnd, c.ID, "ana")
	otherTeacher := f.joinTokenFor(backEnd, other.ID, "ms-lee")
	observer := func() string {
		var j struct{ Token string }
		f.do("POST", "/api/classes/"+c.ID+"/join", backEnd, map[string]string{"identity": "inspector", "role": "observer"}, &j)
		return j.Token
	}()

	attendance := "/api/classes/" + c.ID + "/attendance"
	for name, tok := range map[string]string{"back end": backEnd, "teacher": teacher, "assistant": assistant} {
		var rep AttendanceReport
		if st := f.do("GET", attendance, tok, nil, &rep); st != http.StatusOK {
			t.Fatalf("%s: attendance %d", name, st)
		}
		if rep.Class != c.ID || len(rep.Students) != 2 || rep.Ended {
			t.Fatalf("%s: report %+v", name, rep)
		}
		ana, ben := rep.Students[0], rep.Students[1]
		if ana.Identity != "ana" || ana.Joins != 2 || ana.MinutesPresent != 18 || ana.Absent || ana.Late || ana.Present {
			t.Errorf("%s: ana %+v", name, ana)
		}
		if ben.Identity != `ben, the "second"` || !ben.Absent || ben.Joins != 0 {
			t.Errorf("%s: ben %+v", name, ben)
		}
	}

	st, ctype, body := f.get(attendance+"?format=csv", teacher)
	if st != http.StatusOK || !strings.HasPrefix(ctype, "text/csv") {
		t.Fatalf("csv: %d %q %s", st, ctype, body)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("csv does not parse back: %v\n%s", err, body)
	}
	// Header, ana, ben, then staff: ms-lee and tom (absent).
	if len(rows) != 5 || !slices.Equal(rows[0], csvHeader) {
		t.Fatalf("csv rows %q", rows)
	}
	col := func(row []string, name string) string { return row[slices.Index(csvHeader, name)] }
	if r := rows[1]; col(r, "identity") != "ana" || col(r, "minutes_present") != "18.0" || col(r, "joins") != "2" ||
		col(r, "first_join") != started.UTC().Format(time.RFC3339) || col(r, "absent") != "false" {
		t.Errorf("ana's row %q", r)
	}
	if r := rows[2]; col(r, "identity") != `ben, the "second"` || col(r, "absent") != "true" || col(r, "first_join") != "" {
		t.Errorf("ben's row %q", r)
	}

	var list struct {
		Class string
		Polls []pollJSON
	}
	if st := f.do("GET", "/api/classes/"+c.ID+"/polls", assistant, nil, &list); st != http.StatusOK {
		t.Fatalf("polls: %d", st)
	}
	if len(list.Polls) != 1 || list.Polls[0].ID != p.ID || !slices.Equal(list.Polls[0].Tally, []int{0, 1}) ||
		list.Polls[0].Voters != 1 || list.Polls[0].ClosedAt != nil || list.Polls[0].CreatedBy != "ms-lee" {
		t.Errorf("polls %+v", list)
	}

	// Refusals: nothing is served, whatever the format.
	for _, path := range []string{attendance, attendance + "?format=csv", "/api/classes/" + c.ID + "/polls"} {
		for name, want := range map[string]struct {
			tok    string
			status int
		}{
			"student":               {student, http.StatusForbidden},
			"observer":              {observer, http.StatusForbidden},
			"other class's teacher": {otherTeacher, http.StatusForbidden},
			"no token":              {"", http.StatusUnauthorized},
			"wrong secret":          {backendToken(t, key, "wrong-wrong-wrong-wrong-wrong-wrong-wrong", &auth.VideoGrant{RoomCreate: true}), http.StatusUnauthorized},
		} {
			st, _, body := f.get(path, want.tok)
			if st != want.status || strings.Contains(body, "ana") {
				t.Errorf("%s %s: %d %s, want %d", name, path, st, body, want.status)
			}
		}
	}
	if st, _, _ := f.get(attendance+"?format=xml", backEnd); st != http.StatusBadRequest {
		t.Errorf("format=xml: %d", st)
	}
	if st, _, _ := f.get(attendance+"?grace=soon", backEnd); st != http.StatusBadRequest {
		t.Errorf("grace=soon: %d", st)
	}
	if st, _, _ := f.get("/api/classes/CL_nope/attendance", backEnd); st != http.StatusNotFound {
		t.Errorf("missing class: %d", st)
	}
	// A teacher's token for a class that does not exist reads nothing.
	if st, _, _ := f.get("/api/classes/CL_nope/polls", teacher); st != http.StatusForbidden {
		t.Errorf("teacher, missing class: %d", st)
	}
	// A wider grace makes no difference to ana, who came on time.
	var rep AttendanceReport
	if st := f.do("GET", attendance+"?grace=1h", backEnd, nil, &rep); st != http.StatusOK || rep.GraceSeconds != 3600 {
		t.Errorf("grace=1h: %d %+v", st, rep)
	}
}
