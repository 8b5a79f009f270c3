//go:build !linux

package main

import (
	"io"
	"net"
)

// rawSocket is Linux's only (sock_linux.go): elsewhere a connection reads and writes through net.Conn, and a
// request on a connection the server closed while it was idle fails as "connection closed early".
func rawSocket(net.Conn) (io.ReadWriter, func() bool) { return nil, nil }
