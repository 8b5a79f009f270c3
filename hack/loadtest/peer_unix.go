//go:build unix

package main

import (
	"errors"
	"syscall"
)

// peerClosed tells whether the server has closed (or reset) the idle connection raw: a read that neither waits
// nor consumes (MSG_PEEK) finds its end. Data waiting, or none yet, leaves the connection to the request.
func peerClosed(raw syscall.RawConn) bool {
	closed := false
	var b [1]byte
	err := raw.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case err == nil:
			closed = n == 0
		case errors.Is(err, syscall.EAGAIN), errors.Is(err, syscall.EWOULDBLOCK), errors.Is(err, syscall.EINTR):
		default:
			closed = true
		}
		return true
	})
	return closed || err != nil
}
