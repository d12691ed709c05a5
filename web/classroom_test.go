package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"

	"github.com/bayan-dev/bayan/internal/browsertest"
	"github.com/bayan-dev/bayan/internal/testserver"
	"github.com/bayan-dev/bayan/server"
)

// classNode is a node with a store, so that classes and their live
// features run, and the classes' API to make a class with.
type classNode struct {
	t   *testing.T
	srv *server.Server
}

func startClassNode(t *testing.T) *classNode {
	srv := testserver.Start(t, func(c *server.Config) {
		c.StoreDSN = filepath.Join(t.TempDir(), "bayan.db")
	})
	return &classNode{t: t, srv: srv}
}

// api calls the classes' API as a school's back end and decodes the answer.
func (n *classNode) api(method, path string, body, out any) {
	n.t.Helper()
	tok, err := auth.NewAccessToken(testserver.Key, testserver.Secret).
		SetVideoGrant(&auth.VideoGrant{RoomCreate: true, RoomList: true}).SetValidFor(time.Minute).ToJWT()
	if err != nil {
		n.t.Fatal(err)
	}
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(method, n.srv.HTTPURL()+path, bytes.NewReader(b))
	if err != nil {
		n.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		n.t.Fatalf("%s %s: %s: %s", method, path, resp.Status, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			n.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// class creates and starts a class and returns its id.
func (n *classNode) class(teacher string, students ...string) string {
	var c struct{ ID string }
	now := time.Now().UTC()
	n.api("POST", "/api/classes", map[string]any{"title": "Physics 101", "teachers": []string{teacher},
		"roster": students, "starts_at": now, "ends_at": now.Add(time.Hour)}, &c)
	n.api("POST", "/api/classes/"+c.ID+"/start", nil, nil)
	return c.ID
}

// link is the page's join link for one member of a class.
func (n *classNode) link(class, identity, name string) string {
	var j struct{ Link string }
	n.api("POST", "/api/classes/"+class+"/join", map[string]string{"identity": identity, "name": name}, &j)
	return j.Link
}

// joinPage opens a join link in a new tab and joins the class; shot
// saves a screenshot of the join card first.
func joinPage(t *testing.T, b *browsertest.Browser, name, link string, shot bool) *browsertest.Page {
	t.Helper()
	p := b.NewPage(name)
	p.Open(link)
	must(t, p.WaitFor(`!document.getElementById('join-button').disabled`, 10*time.Second))
	if shot {
		p.Screenshot("join", 390, 844)
		p.Screenshot("join", 1280, 800)
	}
	must(t, p.Eval(`document.getElementById('join-button').click()`, nil))
	must(t, p.WaitFor(`window.bayan?.room.state === 'connected' || document.getElementById('join-error').textContent || 'joining'`, 20*time.Second))
	return p
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// click waits for the element selector matches and clicks it.
func click(t *testing.T, p *browsertest.Page, selector string) {
	t.Helper()
	must(t, p.WaitFor(fmt.Sprintf(`!!document.querySelector(%q)`, selector), 15*time.Second))
	must(t, p.Eval(fmt.Sprintf(`document.querySelector(%q).click()`, selector), nil))
}

// fill sets the value of the input selector matches.
func fill(t *testing.T, p *browsertest.Page, selector, value string) {
	t.Helper()
	must(t, p.WaitFor(fmt.Sprintf(`!!document.querySelector(%q)`, selector), 15*time.Second))
	must(t, p.Eval(fmt.Sprintf(`document.querySelector(%q).value = %q`, selector, value), nil))
}

// videoWidth is the width of the frames a tile's video decodes.
func videoWidth(t *testing.T, p *browsertest.Page, where, identity, source string) int {
	t.Helper()
	var w int
	must(t, p.Eval(fmt.Sprintf(`document.querySelector('%s .tile[data-identity="%s"][data-source="%s"] video')?.videoWidth ?? 0`, where, identity, source), &w))
	return w
}

// playing is a JS condition: the tile of identity's source (in the
// element matching where) plays video: it has a size, its clock moves, and
// new frames are decoded (a stream's clock runs on without them).
func playing(where, identity, source string) string {
	return fmt.Sprintf(`(async () => {
		const v = document.querySelector('%s .tile[data-identity="%s"][data-source="%s"] video');
		if (!v) return 'no tile';
		if (!v.videoWidth || v.hidden) return 'no frames yet';
		const t0 = v.currentTime, f0 = v.getVideoPlaybackQuality().totalVideoFrames;
		await new Promise((r) => setTimeout(r, 600));
		const f1 = v.getVideoPlaybackQuality().totalVideoFrames;
		if (v.currentTime <= t0) return 'clock stuck at ' + t0;
		const paused = !v.parentElement.querySelector('.notice').hidden;
		return f1 > f0 + 2 ? true : 'frames ' + f0 + ' -> ' + f1 + (paused ? ', paused by the node' : '');
	})()`, where, identity, source)
}

// TestClassroomInBrowser runs a class in Chromium, through the page alone
// (clicks and typing): a teacher page publishes its camera in simulcast
// and three student pages play it, each at the layer its tile needs; a
// student raises a hand, the teacher invites them to the stage, and the
// others play that student's video; a chat message and a poll go round;
// the attendance report lists the three students; the teacher mutes,
// locks the chat, spotlights, shares the screen, turns the camera off and
// on; the teacher's and a student's pages come back by themselves from a
// lost connection; a student leaves the stage; the teacher ends the class.
func TestClassroomInBrowser(t *testing.T) {
	b := browsertest.Start(t, browsertest.Options{Timeout: 6 * time.Minute})
	node := startClassNode(t)
	class := node.class("ms-lee", "ana", "ben", "cai")

	teacher := joinPage(t, b, "teacher", node.link(class, "ms-lee", "Ms Lee"), true)
	must(t, teacher.WaitFor(`window.bayan.room.local.get('camera')?.sid ? true : 'camera not published'`, 20*time.Second))
	must(t, teacher.WaitFor(playing("#main", "ms-lee", "camera"), 30*time.Second))

	ids := []string{"ana", "ben", "cai"}
	names := map[string]string{"ana": "Ana", "ben": "Ben", "cai": "Cai"}
	students := map[string]*browsertest.Page{}
	for _, id := range ids {
		students[id] = joinPage(t, b, id, node.link(class, id, names[id]), id == "ana")
	}
	for _, id := range ids {
		if err := students[id].WaitFor(playing("#main", "ms-lee", "camera"), 30*time.Second); err != nil {
			t.Fatalf("%s does not play the teacher's video: %v", id, err)
		}
	}
	ana, ben, cai := students["ana"], students["ben"], students["cai"]

	// The teacher's camera arrives in three layers; a large tile gets a
	// larger one than a phone's.
	pt := node.srv.Rooms().Room(class).Participant("ms-lee").PublishedTracks()
	var layers int
	var lowWidth uint32 // of the smallest layer
	for _, tr := range pt {
		if tr.Info().GetSource().String() == "CAMERA" {
			layers = len(tr.Info().GetLayers())
			for _, l := range tr.Info().GetLayers() {
				if l.GetQuality().String() == "LOW" {
					lowWidth = l.GetWidth()
				}
			}
		}
	}
	if layers != 3 || lowWidth == 0 {
		t.Fatalf("the teacher's camera was announced with %d layers (the low one %d px wide), want 3 (simulcast)", layers, lowWidth)
	}
	ana.Screenshot("class", 1280, 800)
	must(t, ana.WaitFor(fmt.Sprintf(`document.querySelector('#main video').videoWidth >= %d`, 640), 20*time.Second))
	large := videoWidth(t, ana, "#main", "ms-lee", "camera")
	ana.Screenshot("class", 390, 844)
	must(t, ana.WaitFor(fmt.Sprintf(`(w => w > 0 && w < %d ? true : 'width ' + w)(document.querySelector('#main video').videoWidth)`, large), 20*time.Second))
	t.Logf("ana plays the teacher at %dpx wide on a desktop, %dpx on a phone", large, videoWidth(t, ana, "#main", "ms-lee", "camera"))

	// Hands go up; the teacher sees them in order and invites Ana.
	click(t, ana, `[data-control="hand"]`)
	must(t, ana.WaitFor(`document.querySelector('[data-control="hand"]').getAttribute('aria-pressed') === 'true'`, 10*time.Second))
	click(t, ben, `[data-control="hand"]`)
	click(t, teacher, `[data-tab="class"]`)
	must(t, teacher.WaitFor(`[...document.querySelectorAll('[data-hand]')].map(e => e.dataset.hand).join() === 'ana,ben' || document.querySelector('.pane:not([hidden])').innerText`, 10*time.Second))
	teacher.Screenshot("hands", 1280, 800)
	click(t, teacher, `[data-action="stage.invite"][data-identity="ana"]`)
	must(t, ana.WaitFor(`!!document.querySelector('.dialog [data-answer="yes"]')`, 10*time.Second))
	ana.Screenshot("invited", 390, 844)
	click(t, ana, `.dialog [data-answer="yes"]`)
	must(t, ana.WaitFor(`window.bayan.room.local.get('camera')?.sid && window.bayan.room.local.get('microphone')?.sid ? true : 'not publishing'`, 20*time.Second))
	for _, p := range []*browsertest.Page{teacher, ben, cai} {
		must(t, p.WaitFor(playing("#strip", "ana", "camera"), 30*time.Second))
	}
	must(t, ben.WaitFor(`document.querySelectorAll('#audio audio').length >= 2 || 'audio elements: ' + document.querySelectorAll('#audio audio').length`, 10*time.Second))
	must(t, ana.WaitFor(playing("#strip", "ana", "camera"), 30*time.Second)) // her own preview
	ana.Screenshot("on-stage", 1280, 800)
	ben.Screenshot("stage", 1280, 800)
	ben.Screenshot("stage", 390, 844)

	// Ben is invited too but declines; the teacher lowers his hand.
	click(t, teacher, `[data-tab="class"]`)
	click(t, teacher, `[data-action="stage.invite"][data-identity="ben"]`)
	click(t, ben, `.dialog [data-answer="no"]`)
	must(t, teacher.WaitFor(`window.bayan.classroom.state.invited.length === 0 && !document.querySelector('[data-stage="ben"]') && !!document.querySelector('[data-hand="ben"]')`, 10*time.Second))
	click(t, teacher, `[data-action="hand.lower"][data-identity="ben"]`)
	must(t, ben.WaitFor(`document.querySelector('[data-control="hand"]').getAttribute('aria-pressed') === 'false'`, 10*time.Second))

	// A chat message goes round, and one from the teacher.
	fill(t, ben, `.composer input`, "Is question 3 about vectors?")
	click(t, ben, `.composer button`)
	fill(t, teacher, `.composer input`, "Yes: start with the dot product.")
	click(t, teacher, `[data-tab="chat"]`)
	click(t, teacher, `.composer button`)
	for _, p := range []*browsertest.Page{teacher, ana, cai, ben} {
		must(t, p.WaitFor(`(t => t.includes('Is question 3 about vectors?') && t.includes('Yes: start with the dot product.') ? true : t)([...document.querySelectorAll('.message .text')].map(e => e.textContent).join('|'))`, 15*time.Second))
	}
	cai.Screenshot("chat", 390, 844)

	// A poll: the teacher asks, every student answers, the tally counts three.
	click(t, teacher, `[data-tab="polls"]`)
	fill(t, teacher, `#poll-form input[name="question"]`, "Which topic next?")
	fill(t, teacher, `#poll-form input[name="option"]`, "Vectors")
	fill(t, teacher, `#poll-form .option-row:nth-child(2) input`, "Matrices")
	click(t, teacher, `#poll-form button[type="submit"]`)
	for i, id := range ids {
		p := students[id]
		click(t, p, `[data-tab="polls"]`)
		click(t, p, fmt.Sprintf(`form.poll input[value="%d"]`, i%2))
		click(t, p, `form.poll button[type="submit"]`)
		must(t, p.WaitFor(`!document.querySelector('form.poll') && document.querySelector('.poll')?.innerText.includes('your answer is in')`, 10*time.Second))
	}
	must(t, teacher.WaitFor(`document.querySelector('.poll .meta')?.innerText.includes('3 votes') || document.querySelector('.poll')?.innerText`, 15*time.Second))
	teacher.Screenshot("poll", 1280, 800)
	click(t, teacher, `.poll .meta button`)
	must(t, cai.WaitFor(`document.querySelector('.poll')?.innerText.includes('Closed · 3 votes') || document.querySelector('.poll')?.innerText`, 15*time.Second))
	cai.Screenshot("poll-results", 390, 844)

	// The attendance report lists the three students, present.
	click(t, teacher, `[data-tab="people"]`)
	click(t, teacher, `[data-action="attendance"]`)
	for _, id := range ids {
		must(t, teacher.WaitFor(fmt.Sprintf(`document.querySelector('#attendance tr[data-identity="%s"]')?.innerText.includes('Here') || document.querySelector('.pane:not([hidden])').innerText`, id), 15*time.Second))
	}
	teacher.Screenshot("attendance", 1280, 800)
	teacher.Screenshot("attendance", 390, 844)

	// The teacher mutes every student, locks the chat and spotlights Ana.
	click(t, teacher, `[data-tab="class"]`)
	click(t, teacher, `[data-action="mute.all"]`)
	must(t, ana.WaitFor(`window.bayan.room.local.get('microphone')?.muted === true`, 10*time.Second))
	must(t, ben.WaitFor(`[...window.bayan.room.participants.values()].find((p) => p.identity === 'ana')?.tracks.find((t) => t.source === 'MICROPHONE')?.muted === true`, 10*time.Second))
	click(t, teacher, `[data-action="chat.lock"]`)
	click(t, ben, `[data-tab="chat"]`)
	must(t, ben.WaitFor(`document.querySelector('.composer input').disabled`, 10*time.Second))
	click(t, teacher, `[data-action="spotlight"][data-identity="ana"]`)
	for _, p := range []*browsertest.Page{teacher, ben, cai} {
		must(t, p.WaitFor(playing("#main", "ana", "camera"), 30*time.Second))
	}
	cai.Screenshot("spotlight", 1280, 800)
	click(t, teacher, `[data-action="spotlight"][data-identity="ana"]`)
	must(t, cai.WaitFor(playing("#main", "ms-lee", "camera"), 30*time.Second))

	// The teacher shares their screen: it takes the students' main tile,
	// the teacher's camera moves to the strip; stopping it brings it back.
	click(t, teacher, `[data-control="screen"]`)
	must(t, teacher.WaitFor(`window.bayan.room.local.get('screen')?.sid ? true : 'no screen share'`, 15*time.Second))
	for _, p := range []*browsertest.Page{ben, cai} {
		must(t, p.WaitFor(playing("#main", "ms-lee", "screen"), 30*time.Second))
		must(t, p.WaitFor(playing("#strip", "ms-lee", "camera"), 30*time.Second))
	}
	// The camera in a strip tile comes in the smallest layer (the desktop
	// tile's layer may have been the medium one, if the node found the
	// link short of the high one).
	must(t, ben.WaitFor(fmt.Sprintf(`(w => w > 0 && w <= %d ? true : 'width ' + w)(document.querySelector('#strip .tile[data-identity="ms-lee"][data-source="camera"] video').videoWidth)`, lowWidth), 20*time.Second))
	ben.Screenshot("screen-share", 1280, 800)
	click(t, teacher, `[data-control="screen"]`)
	must(t, cai.WaitFor(playing("#main", "ms-lee", "camera"), 30*time.Second))
	must(t, cai.WaitFor(`!document.querySelector('.tile[data-source="screen"]')`, 10*time.Second))

	// The teacher turns the camera off (its light too) and on again.
	click(t, teacher, `[data-control="camera"]`)
	must(t, teacher.WaitFor(`window.bayan.room.local.get('camera')?.track.readyState === 'ended'`, 10*time.Second))
	must(t, ben.WaitFor(`document.querySelector('#main .tile[data-identity="ms-lee"] video').hidden && document.querySelector('#main .placeholder').innerText.includes('Camera is off')`, 10*time.Second))
	click(t, teacher, `[data-control="camera"]`)
	must(t, ben.WaitFor(playing("#main", "ms-lee", "camera"), 30*time.Second))

	// The teacher's session is lost for good (the node no longer knows it):
	// the page joins again by itself and publishes its camera again, which
	// the students play.
	teacherSID := node.srv.Rooms().Room(class).Participant("ms-lee").SID()
	must(t, teacher.Eval(`window.bayan.room.me.sid = 'PA_forgotten'; window.bayan.room.signal.ws.close()`, nil))
	must(t, teacher.WaitFor(`(r => r.reconnections.rejoined === 1 && r.state === 'connected' && document.getElementById('banner').hidden && r.local.get('camera')?.sid ? true : r.state)(window.bayan.room)`, 30*time.Second))
	if p := node.srv.Rooms().Room(class).Participant("ms-lee"); p == nil || p.SID() == teacherSID {
		t.Fatalf("the teacher did not join again")
	}
	for _, id := range ids {
		must(t, students[id].WaitFor(playing("#main", "ms-lee", "camera"), 30*time.Second))
	}

	// Cai's signal connection drops: the page resumes the same session by
	// itself and the teacher's video goes on.
	sid := node.srv.Rooms().Room(class).Participant("cai").SID()
	must(t, cai.Eval(`window.bayan.room.signal.ws.close()`, nil))
	must(t, cai.WaitFor(`(r => r.reconnections.resumed === 1 && r.state === 'connected' && document.getElementById('banner').hidden ? true : r.state)(window.bayan.room)`, 20*time.Second))
	if p := node.srv.Rooms().Room(class).Participant("cai"); p == nil || p.SID() != sid {
		t.Fatalf("cai joined again instead of resuming (sid before %s)", sid)
	}
	must(t, cai.WaitFor(playing("#main", "ms-lee", "camera"), 30*time.Second))

	// Ana leaves the stage: her camera stops and leaves the others' strip.
	click(t, ana, `[data-control="leave-stage"]`)
	must(t, ana.WaitFor(`window.bayan.room.local.size === 0 && !!document.querySelector('[data-control="hand"]')`, 10*time.Second))
	must(t, ben.WaitFor(`!document.querySelector('#strip .tile[data-identity="ana"]')`, 10*time.Second))

	// The teacher ends the class: every page says so.
	click(t, teacher, `[data-control="end"]`)
	click(t, teacher, `.dialog [data-answer="yes"]`)
	for _, id := range ids {
		must(t, students[id].WaitFor(`!document.getElementById('end-view').hidden && document.getElementById('end-title').textContent === 'The class has ended'`, 15*time.Second))
	}
	ben.Screenshot("ended", 390, 844)
}

// TestJoinCard: without a link the page asks for one; a pasted link (or a
// bare token) shows who is joining what, and an expired one says so.
func TestJoinCard(t *testing.T) {
	b := browsertest.Start(t, browsertest.Options{Timeout: time.Minute})
	node := startClassNode(t)
	class := node.class("ms-lee", "ana")
	p := b.NewPage("join")
	p.Open(node.srv.HTTPURL() + "/")
	must(t, p.WaitFor(`document.getElementById('join-button').disabled && !document.getElementById('paste').hidden`, 10*time.Second))
	p.Screenshot("no-link", 390, 844)

	link := node.link(class, "ana", "Ana")
	must(t, p.Eval(fmt.Sprintf(`(i => { i.value = %q; i.dispatchEvent(new Event('input')); })(document.getElementById('paste-input'))`, link), nil))
	must(t, p.WaitFor(`!document.getElementById('join-button').disabled && document.getElementById('join-details').innerText.includes('Physics 101') && document.getElementById('join-details').innerText.includes('Student')`, 10*time.Second))

	expired, err := auth.NewAccessToken(testserver.Key, testserver.Secret).SetIdentity("ana").
		SetVideoGrant(&auth.VideoGrant{RoomJoin: true, Room: class}).SetValidFor(time.Second).ToJWT()
	must(t, err)
	time.Sleep(2 * time.Second) // past its expiry, which is in whole seconds
	p.Open(node.srv.HTTPURL() + "/?t=" + expired)
	must(t, p.WaitFor(`document.getElementById('join-button').disabled && document.getElementById('join-text').textContent.includes('expired') || document.getElementById('join-text').textContent`, 10*time.Second))
}
