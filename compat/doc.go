// Package compat checks, in its tests, that LiveKit's own client SDKs work against Bayan unchanged.
package compat
