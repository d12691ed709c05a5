//go:build linux

package mmsg

import (
	"errors"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Supported reports whether Send and Recv batch datagrams.
const Supported = true

// mmsghdr is struct mmsghdr of sendmmsg(2); Go pads it as C does.
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
}

// sysBatch is the kernel's view of a Batch: one header, iovec and address
// per slot, pointing at the slot's buffer.
type sysBatch struct {
	hdrs  []mmsghdr
	iovs  []unix.Iovec
	names []unix.RawSockaddrInet6 // large enough for either family
	bufs  [][]byte
	ctrl  [][]byte // control messages (receive timestamps), when enabled

	// The syscall.RawConn callbacks and their arguments and results. The
	// callbacks are made once: a method value made per call would be
	// allocated per call.
	lo, hi int // datagrams [lo, hi) of the call under way
	done   int
	errno  syscall.Errno
	sendFn func(fd uintptr) bool
	recvFn func(fd uintptr) bool
}

func (s *sysBatch) init(bufs [][]byte) {
	n := len(bufs)
	s.bufs = bufs
	s.hdrs = make([]mmsghdr, n)
	s.iovs = make([]unix.Iovec, n)
	s.names = make([]unix.RawSockaddrInet6, n)
	for i := range s.hdrs {
		s.iovs[i].Base = &bufs[i][:1][0]
		h := &s.hdrs[i].hdr
		h.Name = (*byte)(unsafe.Pointer(&s.names[i]))
		h.Iov = &s.iovs[i]
		h.SetIovlen(1)
	}
	s.sendFn = s.sendOnce
	s.recvFn = s.recvOnce
}

func (s *sysBatch) setLen(i, n int) { s.iovs[i].SetLen(n) }

func (s *sysBatch) setAddr(i int, to netip.AddrPort) bool {
	addr := to.Addr()
	h := &s.hdrs[i].hdr
	if addr.Is4() || addr.Is4In6() {
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&s.names[i]))
		*sa = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: addr.Unmap().As4()}
		putPort(&sa.Port, to.Port())
		h.Namelen = unix.SizeofSockaddrInet4
		return true
	}
	sa := &s.names[i]
	*sa = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: addr.As16()}
	putPort(&sa.Port, to.Port())
	h.Namelen = unix.SizeofSockaddrInet6
	return true
}

// putPort stores port in network byte order in a sockaddr's port field.
func putPort(field *uint16, port uint16) {
	p := (*[2]byte)(unsafe.Pointer(field))
	p[0], p[1] = byte(port>>8), byte(port)
}

// send makes one sendmmsg of datagrams [from, to) and returns how many left.
func (s *sysBatch) send(rc syscall.RawConn, from, to int) (int, error) {
	s.lo, s.hi = from, to
	if err := rc.Write(s.sendFn); err != nil {
		return 0, err
	}
	if s.errno != 0 {
		return 0, s.errno
	}
	return s.done, nil
}

func (s *sysBatch) sendOnce(fd uintptr) bool {
	r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&s.hdrs[s.lo])), uintptr(s.hi-s.lo), 0, 0, 0)
	if e == unix.EAGAIN {
		return false // wait until the socket is writable
	}
	s.done, s.errno = int(r), e
	if e != 0 {
		s.done = 0
	}
	return true
}

// recv makes one recvmmsg of up to n datagrams, waiting for the first.
func (s *sysBatch) recv(rc syscall.RawConn, n int) (int, error) {
	for i := range n {
		s.iovs[i].SetLen(cap(s.bufs[i]))
		s.hdrs[i].hdr.Namelen = unix.SizeofSockaddrInet6
		s.hdrs[i].hdr.Flags = 0
		if s.ctrl != nil {
			s.hdrs[i].hdr.SetControllen(timestampSpace)
		}
	}
	s.hi = n
	if err := rc.Read(s.recvFn); err != nil {
		return 0, err
	}
	if s.errno != 0 {
		return 0, s.errno
	}
	return s.done, nil
}

func (s *sysBatch) recvOnce(fd uintptr) bool {
	r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&s.hdrs[0])), uintptr(s.hi), unix.MSG_DONTWAIT, 0, 0)
	if e == unix.EAGAIN {
		return false // wait until a datagram arrives
	}
	s.done, s.errno = int(r), e
	if e != 0 {
		s.done = 0
	}
	return true
}

func (s *sysBatch) received(i int) int { return int(s.hdrs[i].len) }

// timestampSpace is room for one SCM_TIMESTAMPNS control message.
var timestampSpace = unix.CmsgSpace(int(unsafe.Sizeof(unix.Timespec{})))

// enableTimestamps asks the kernel to stamp each datagram's arrival
// (SO_TIMESTAMPNS) and gives every slot room for the stamp.
func (s *sysBatch) enableTimestamps(rc syscall.RawConn) error {
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}); err != nil {
		return err
	}
	if serr != nil {
		return serr
	}
	s.ctrl = make([][]byte, len(s.hdrs))
	mem := make([]byte, len(s.hdrs)*timestampSpace)
	for i := range s.hdrs {
		s.ctrl[i] = mem[i*timestampSpace : (i+1)*timestampSpace]
		s.hdrs[i].hdr.Control = &s.ctrl[i][0]
	}
	return nil
}

// arrival returns the kernel's arrival stamp of datagram i (Unix ns), or 0.
func (s *sysBatch) arrival(i int) int64 {
	if s.ctrl == nil {
		return 0
	}
	h := &s.hdrs[i].hdr
	n := int(h.Controllen)
	buf := s.ctrl[i]
	for off := 0; off+unix.SizeofCmsghdr <= n; {
		c := (*unix.Cmsghdr)(unsafe.Pointer(&buf[off]))
		if c.Len < unix.SizeofCmsghdr || off+int(c.Len) > n {
			return 0
		}
		if c.Level == unix.SOL_SOCKET && c.Type == unix.SCM_TIMESTAMPNS &&
			int(c.Len) >= unix.CmsgLen(int(unsafe.Sizeof(unix.Timespec{}))) {
			ts := (*unix.Timespec)(unsafe.Pointer(&buf[off+unix.CmsgLen(0)]))
			return ts.Nano()
		}
		off += unix.CmsgSpace(int(c.Len) - unix.CmsgLen(0))
	}
	return 0
}

// isSocketGone tells a closed socket from a refused datagram.
func isSocketGone(err error) bool {
	return errors.Is(err, unix.EBADF) || errors.Is(err, unix.ENOTSOCK) || !errors.As(err, new(syscall.Errno))
}

func (s *sysBatch) from(i int) netip.AddrPort {
	sa := &s.names[i]
	port := func(field *uint16) uint16 {
		p := (*[2]byte)(unsafe.Pointer(field))
		return uint16(p[0])<<8 | uint16(p[1])
	}
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), port(&sa4.Port))
	case unix.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), port(&sa.Port))
	}
	return netip.AddrPort{}
}
