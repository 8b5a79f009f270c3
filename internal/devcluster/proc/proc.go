// Package proc runs the dev cluster's processes (the control plane's helpers, the operator, the pods'
// containers): each in a process group of its own, so that Ctrl-C reaches the dev cluster, which stops them in
// order, and each killed if the dev cluster dies, so that nothing outlives it.
package proc

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Process is a started process.
type Process struct {
	cmd       *exec.Cmd
	startedAt time.Time
	done      chan struct{}
}

// Start starts cmd with its output appended to logPath; onExit, when given, is called once it has exited.
func Start(cmd *exec.Cmd, logPath string, onExit func()) (*Process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, closeAfter(logFile, err)
	}
	p := &Process{cmd: cmd, startedAt: time.Now(), done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		_ = logFile.Close()
		close(p.done)
		if onExit != nil {
			onExit()
		}
	}()
	return p, nil
}

func closeAfter(c io.Closer, err error) error {
	_ = c.Close()
	return err
}

// ID is the process as a container ID: process://<pid>.
func (p *Process) ID() string { return fmt.Sprintf("process://%d", p.cmd.Process.Pid) }

// PID is the process's ID.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// StartedAt is when it was started.
func (p *Process) StartedAt() time.Time { return p.startedAt }

// Exited tells whether it has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// ExitCode waits for the exit and returns its code; 128 plus the signal's number when a signal killed it, as
// a container runtime reports it (137 for SIGKILL), so that a pod's last state reads as in a cluster.
func (p *Process) ExitCode() int {
	<-p.done
	if status, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && status.Signaled() {
		return 128 + int(status.Signal())
	}
	return p.cmd.ProcessState.ExitCode()
}

// Stop sends SIGTERM to the process group, then SIGKILL when it has not exited after grace, and waits.
func (p *Process) Stop(grace time.Duration) {
	if p.Exited() {
		return
	}
	signalGroup(p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		signalGroup(p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// signalGroup signals a process's whole group: the process leads a group of its own.
func signalGroup(pid int, signal syscall.Signal) { _ = syscall.Kill(-pid, signal) }
