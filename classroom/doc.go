// Package classroom is the online classroom on top of signaling and the
// store: classes, their people and roles, and the join tokens that carry a
// role into a LiveKit room. It never touches media.
package classroom
