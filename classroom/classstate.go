package classroom

import "github.com/bayan-dev/bayan/store"

// publicState is the part of the state event everyone in a class sees:
// {"event":"state","class":...,"chatLocked":...,"spotlight":...,
// "stage":[...],"invited":[...],"students":N}.
type publicState struct {
	Event      string   `json:"event"` // "state"
	Class      string   `json:"class"`
	ChatLocked bool     `json:"chatLocked"`
	Spotlight  string   `json:"spotlight"`
	Stage      []string `json:"stage"`
	Invited    []string `json:"invited"`
	Students   int      `json:"students"` // students present
}

// staffState is the copy for teachers and assistants: with the queue of
// raised hands, first raised first.
type staffState struct {
	publicState
	Hands []Hand `json:"hands"`
}

// studentState is a student's copy: whether their own hand is up, and not
// who else waits (the staff call on them).
type studentState struct {
	publicState
	Hand bool `json:"hand"`
}

// publicStateLocked returns what everyone sees of c now, given who is
// present; fl's lock is held.
func (fl *floor) publicStateLocked(c *liveClass, present []member) publicState {
	s := publicState{
		Event:      "state",
		Class:      c.id,
		ChatLocked: c.chatLocked.Load(),
		Spotlight:  fl.spotlight,
		Stage:      fl.stage.On(),
		Invited:    fl.stage.Invited(),
	}
	for _, m := range present {
		if m.role == store.RoleStudent {
			s.Students++
		}
	}
	return s
}

// stateForLocked returns m's copy of the state event; observers get the
// public part only. fl's lock is held.
func (fl *floor) stateForLocked(pub publicState, m member) any {
	switch {
	case m.staff():
		return staffState{publicState: pub, Hands: fl.hands.List()}
	case m.role == store.RoleStudent:
		_, up := fl.hands.Raised(m.identity())
		return studentState{publicState: pub, Hand: up}
	}
	return pub
}
