//go:build !unix

package main

import "syscall"

// peerClosed cannot probe a socket on this platform: a request on a connection the server closed while it was
// idle fails as "connection closed early".
func peerClosed(syscall.RawConn) bool { return false }
