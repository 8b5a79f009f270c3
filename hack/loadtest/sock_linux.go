package main

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"
)

// rawSocket gives nc's socket as a sock (when nc is a TCP connection) and its peerClosed.
func rawSocket(nc net.Conn) (io.ReadWriter, func() bool) {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nil, nil
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return nil, nil
	}
	s := &sock{raw: raw}
	s.read, s.write = s.readFD, s.writeFD
	return s, s.peerClosed
}

// sock reads and writes a connection's non-blocking socket with raw read and write system calls, waiting in
// Go's netpoller (syscall.RawConn, so that the connection's deadline holds) when a call would block.
//
// net.Conn's Read and Write make the same calls through syscall.Syscall, which enters the scheduler's syscall
// state; entering it when the program was idle (every request of an open-loop run: the worker sleeps until the
// next scheduled start, or waits for the answer) wakes the runtime's sysmon thread and resets it to its shortest
// period: about one wake-up, and one context switch on the generator's core, per request. A read or write on a non-blocking loopback socket returns at once, so leaving
// the P to others during it gains nothing.
type sock struct {
	raw syscall.RawConn
	// p is the buffer of the call in progress, n its count and errno its error, set by read and write, which
	// are made once (method values, so that a call allocates nothing).
	p           []byte
	n           int
	errno       syscall.Errno
	read, write func(fd uintptr) bool
}

func (s *sock) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	s.p, s.n, s.errno = p, 0, 0
	err := s.raw.Read(s.read)
	s.p = nil
	switch {
	case err != nil: // the deadline, or the connection closed
		return 0, err
	case s.errno != 0:
		return 0, os.NewSyscallError("read", s.errno)
	case s.n == 0:
		return 0, io.EOF
	}
	return s.n, nil
}

func (s *sock) Write(p []byte) (int, error) {
	s.p, s.n, s.errno = p, 0, 0
	err := s.raw.Write(s.write)
	s.p = nil
	switch {
	case err != nil:
		return s.n, err
	case s.errno != 0:
		return s.n, os.NewSyscallError("write", s.errno)
	}
	return s.n, nil
}

// readFD reads once into s.p; false asks RawConn.Read to wait until the socket is readable.
func (s *sock) readFD(fd uintptr) bool {
	for {
		n, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(unsafe.SliceData(s.p))), uintptr(len(s.p)))
		switch errno {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		s.n, s.errno = int(n), errno
		return true
	}
}

// writeFD writes the rest of s.p; false asks RawConn.Write to wait until the socket is writable. A write to a
// connection the server has reset fails with EPIPE: Go ignores SIGPIPE on sockets.
func (s *sock) writeFD(fd uintptr) bool {
	for s.n < len(s.p) {
		rest := s.p[s.n:]
		n, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(unsafe.SliceData(rest))), uintptr(len(rest)))
		switch errno {
		case 0:
			s.n += int(n)
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			s.errno = errno
			return true
		}
	}
	return true
}

// peerClosed tells whether the server has closed (or reset) the idle connection: a read that neither waits nor
// consumes (MSG_PEEK) finds its end. Data waiting, or none yet, leaves the connection to the request.
func (s *sock) peerClosed() bool {
	closed := false
	var b [1]byte
	err := s.raw.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case err == nil:
			closed = n == 0
		case errors.Is(err, syscall.EAGAIN), errors.Is(err, syscall.EINTR):
		default:
			closed = true
		}
		return true
	})
	return closed || err != nil
}
