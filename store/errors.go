package store

import "errors"

// Sentinel errors; the store wraps them with what failed, so test them
// with errors.Is.
var (
	// ErrNotFound: the class, poll or message named does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the write contradicts what is stored, e.g. a second
	// answer to a poll or a state change the class cannot make.
	ErrConflict = errors.New("conflict")
	// ErrInvalid: the arguments are malformed (empty title, unknown
	// state, a choice out of range...). Nothing was written.
	ErrInvalid = errors.New("invalid argument")
	// ErrClosed: the poll no longer takes answers.
	ErrClosed = errors.New("poll closed")
)
