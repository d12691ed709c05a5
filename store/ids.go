package store

import "crypto/rand"

// newID returns prefix followed by 26 random base32 characters (130
// bits), generated here rather than by the database so that both
// dialects give ids of the same shape and callers can log an id before
// the insert returns.
func newID(prefix string) string { return prefix + rand.Text() }
