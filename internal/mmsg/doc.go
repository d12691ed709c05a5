// Package mmsg moves batches of UDP datagrams with one system call each:
// sendmmsg(2) and recvmmsg(2) on Linux, one datagram per call elsewhere.
//
// A Batch owns its buffers, addresses and message headers, wired together
// once, so queueing, sending and receiving allocate nothing.
package mmsg
