package classroom

import (
	"slices"

	"github.com/livekit/protocol/livekit"

	"github.com/bayan-dev/bayan/room"
)

// Attributes that mirror a student's place in the class for SDK users
// (the state event says the same to classroom clients).
const (
	// HandAttribute is the raise time of the participant's hand in Unix
	// ms, while it is up.
	HandAttribute = "bayan.hand"
	// StageAttribute is "invited" or "on" while the participant is invited
	// to or on the stage.
	StageAttribute = "bayan.stage"
)

// Values of StageAttribute.
const (
	stageInvited = "invited"
	stageOn      = "on"
)

// Stage is the students a class sees and hears besides its staff: those
// invited to it, who have not answered yet, and those on it, each in the
// order they got there. It is not safe for concurrent use: its class's
// lock guards it.
type Stage struct {
	invited []string
	on      []string
}

// Invite invites identity and reports whether that changed anything
// (false when already invited or on the stage).
func (s *Stage) Invite(identity string) bool {
	if s.IsInvited(identity) || s.IsOn(identity) {
		return false
	}
	s.invited = append(s.invited, identity)
	return true
}

// Accept moves an invited identity onto the stage and reports whether it
// was invited.
func (s *Stage) Accept(identity string) bool {
	if !s.dropInvited(identity) {
		return false
	}
	s.on = append(s.on, identity)
	return true
}

// Decline withdraws identity's invitation and reports whether there was one.
func (s *Stage) Decline(identity string) bool { return s.dropInvited(identity) }

// Remove takes identity off the stage or withdraws its invitation; it
// returns where identity was: stageOn, stageInvited or "" (nowhere).
func (s *Stage) Remove(identity string) string {
	if i := slices.Index(s.on, identity); i >= 0 {
		s.on = slices.Delete(s.on, i, i+1)
		return stageOn
	}
	if s.dropInvited(identity) {
		return stageInvited
	}
	return ""
}

// IsOn reports whether identity is on the stage.
func (s *Stage) IsOn(identity string) bool { return slices.Contains(s.on, identity) }

// IsInvited reports whether identity is invited and has not answered.
func (s *Stage) IsInvited(identity string) bool { return slices.Contains(s.invited, identity) }

// On returns who is on the stage, never nil.
func (s *Stage) On() []string { return append(make([]string, 0, len(s.on)), s.on...) }

// Invited returns who is invited, never nil.
func (s *Stage) Invited() []string { return append(make([]string, 0, len(s.invited)), s.invited...) }

func (s *Stage) dropInvited(identity string) bool {
	i := slices.Index(s.invited, identity)
	if i < 0 {
		return false
	}
	s.invited = slices.Delete(s.invited, i, i+1)
	return true
}

// stageSources is what a student on the stage may publish: their camera
// and microphone, not a screen share.
var stageSources = []livekit.TrackSource{livekit.TrackSource_CAMERA, livekit.TrackSource_MICROPHONE}

// grantStage lets p publish its camera and microphone, keeping the rest of
// its permission (subscribe, data, hidden); everyone is told.
func grantStage(p *room.Participant) {
	perm := p.Permission()
	perm.CanPublish = true
	perm.CanPublishSources = slices.Clone(stageSources)
	p.UpdateInfo(nil, nil, map[string]string{StageAttribute: stageOn, HandAttribute: ""}, perm)
}

// withdrawStage takes publishing away from p: the room unpublishes the
// tracks it had on the stage.
func withdrawStage(p *room.Participant) {
	perm := p.Permission()
	perm.CanPublish = false
	perm.CanPublishSources = nil
	p.UpdateInfo(nil, nil, map[string]string{StageAttribute: ""}, perm)
}
