//go:build !linux

package mmsg

import (
	"net/netip"
	"syscall"
)

// Supported reports whether Send and Recv batch datagrams.
const Supported = false

type sysBatch struct{}

func (s *sysBatch) init([][]byte)                               {}
func (s *sysBatch) setLen(int, int)                             {}
func (s *sysBatch) setAddr(int, netip.AddrPort) bool            { return false }
func (s *sysBatch) received(int) int                            { return 0 }
func (s *sysBatch) send(syscall.RawConn, int, int) (int, error) { return 0, ErrUnsupported }
func (s *sysBatch) recv(syscall.RawConn, int) (int, error)      { return 0, ErrUnsupported }

func isSocketGone(error) bool { return true }

func (s *sysBatch) enableTimestamps(syscall.RawConn) error { return ErrUnsupported }
func (s *sysBatch) arrival(int) int64                      { return 0 }

func (s *sysBatch) from(int) netip.AddrPort { return netip.AddrPort{} }
