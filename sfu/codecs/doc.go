// Package codecs parses and rewrites the codec payloads the SFU forwards: VP8 descriptors, keyframes, RED.
package codecs
