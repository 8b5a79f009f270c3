// Package blackbox holds the black-box tests of webhookserver: they build the real binary, start it on the
// sample manifests (or manifests written by the test) on loopback ports, and talk HTTP to it, with requests
// and answers in the platforms' own Go types.
package blackbox
