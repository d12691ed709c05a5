package store

// Role is what a participant is in a class.
type Role string

const (
	RoleTeacher   Role = "teacher"
	RoleAssistant Role = "assistant"
	RoleStudent   Role = "student"
)

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool {
	return r == RoleTeacher || r == RoleAssistant || r == RoleStudent
}
