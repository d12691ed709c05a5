package classroom

import "github.com/bayan-dev/bayan/store"

// control is one in-class action the controls carry out: who may send it,
// how its payload is read and what it does. The steps every action shares
// (role, payload, floor lock, presence) run in controls.carryOut.
type control struct {
	// roles may send the action; anyone else is answered
	// "forbidden: " + refusal.
	roles   []store.Role
	refusal string
	// prepare reads and checks the payload before the floor is locked,
	// and returns what carries the action out.
	prepare func(m member, a action) (controlStep, error)
	// floor says the step runs holding the class's floor lock.
	floor bool
	// present says a student sending it must still be in the class (looked
	// up under the floor lock); staff are checked through whom they name.
	present bool
	// repliesLater says a nil result is not answered yet: the step answers
	// itself once its work is done.
	repliesLater bool
}

// controlStep carries out an action whose payload is read and checked.
type controlStep func(f *controls, r request) error

// request is one action being carried out: the class, its sender, the
// action and, for controls that lock it, the class's floor (held).
type request struct {
	c  *liveClass
	m  member
	a  action
	fl *floor
}

// withPayload makes a control's prepare from do, which needs the payload
// as a P: the action is decoded into a P, checked by check (if set, before
// the floor is locked) and handed to do.
func withPayload[P any](check func(m member, a action, in *P) error, do func(f *controls, r request, in *P) error) func(member, action) (controlStep, error) {
	return func(m member, a action) (controlStep, error) {
		in := new(P)
		if err := decodePayload(a, in); err != nil {
			return nil, err
		}
		if check != nil {
			if err := check(m, a, in); err != nil {
				return nil, err
			}
		}
		return func(f *controls, r request) error { return do(f, r, in) }, nil
	}
}

// withoutPayload makes a control's prepare from do, for an action that
// reads nothing but its name.
func withoutPayload(do controlStep) func(member, action) (controlStep, error) {
	return func(member, action) (controlStep, error) { return do, nil }
}

// controlTable returns the actions the controls carry out, by action name.
func controlTable() map[string]control {
	staff := []store.Role{store.RoleTeacher, store.RoleAssistant}
	members := []store.Role{store.RoleTeacher, store.RoleAssistant, store.RoleStudent}
	students := []store.Role{store.RoleStudent}
	return map[string]control{
		"hand": {
			roles: members, refusal: "observers cannot raise hands",
			prepare: withPayload(checkHand, (*controls).hand), floor: true, present: true,
		},
		"stage.invite": {
			roles: staff, refusal: "only teachers and assistants invite to the stage",
			prepare: withPayload(nil, (*controls).invite), floor: true,
		},
		"stage.accept": {
			roles: students, refusal: "only an invited student accepts an invitation to the stage",
			prepare: withoutPayload((*controls).accept), floor: true, present: true,
		},
		"stage.decline": {
			roles: students, refusal: "only an invited student declines an invitation to the stage",
			prepare: withoutPayload((*controls).decline), floor: true, present: true,
		},
		"stage.remove": {
			roles: members, refusal: "observers cannot change the stage",
			prepare: withPayload(checkRemoveFromStage, (*controls).removeFromStage), floor: true, present: true,
		},
		"mute": {
			roles: staff, refusal: "only teachers and assistants mute others",
			prepare: withPayload(checkMute, (*controls).mute),
		},
		"chat.lock": {
			roles: staff, refusal: "only teachers and assistants lock the chat",
			prepare: withPayload(checkLockChat, (*controls).lockChat), floor: true,
		},
		"spotlight": {
			roles: staff, refusal: "only teachers and assistants spotlight",
			prepare: withPayload(checkSpotlight, (*controls).setSpotlight), floor: true,
		},
		"end": {
			roles: []store.Role{store.RoleTeacher}, refusal: "only teachers end the class",
			prepare: withoutPayload((*controls).end), repliesLater: true,
		},
	}
}
