package kubelet

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/fulfillment-dev/fulfillment-operator/internal/devcluster/proc"
)

// start runs a container's command as a local binary, from its rootfs, with its environment, its paths moved
// under rootfs and its ports moved to loopback ports. Output goes to <pod>/<container>.log.
func (w *worker) start(pod *corev1.Pod, c *container) error {
	command := c.spec.Command
	if len(command) == 0 {
		command = []string{w.k.cfg.Entrypoint}
	}
	binary, ok := w.k.cfg.Binaries[command[0]]
	if !ok {
		known := make([]string, 0, len(w.k.cfg.Binaries))
		for path := range w.k.cfg.Binaries {
			known = append(known, path)
		}
		sort.Strings(known)
		return fmt.Errorf("command %s: %w (the image's binaries here: %s)", command[0], errUnsupported, strings.Join(known, ", "))
	}
	env, err := w.environment(pod, c)
	if err != nil {
		return err
	}
	var args []string
	for _, arg := range append(append([]string{}, command[1:]...), c.spec.Args...) {
		args = append(args, w.localArg(c, arg))
	}
	if err := os.MkdirAll(w.rootfs, 0o755); err != nil {
		return err
	}
	cmd := exec.Command(binary, args...)
	cmd.Dir, cmd.Env = w.rootfs, env
	process, err := proc.Start(cmd, w.logPath(c), func() {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	})
	if err != nil {
		return err
	}
	w.mu.Lock()
	c.cmd, c.ready = process, false
	w.mu.Unlock()
	return nil
}

// listenArg matches a listen address on every interface: ":8080", "0.0.0.0:8080", "[::]:8080".
var listenArg = regexp.MustCompile(`^(|0\.0\.0\.0|\[::\]):([0-9]+)$`)

// loopbackArg matches an address on the pod's own loopback: "127.0.0.1:9091", "localhost:9091", "[::1]:9091".
var loopbackArg = regexp.MustCompile(`^(127\.0\.0\.1|localhost|\[::1\]):([0-9]+)$`)

// podLoopbackPort is the port of an argument (or the value of --flag=value) on the pod's own loopback.
func podLoopbackPort(arg string) (int, bool) {
	if flag, value, ok := strings.Cut(arg, "="); ok && strings.HasPrefix(flag, "-") {
		arg = value
	}
	m := loopbackArg.FindStringSubmatch(arg)
	if m == nil {
		return 0, false
	}
	port, err := strconv.Atoi(m[2])
	return port, err == nil && port > 0
}

// localArg moves an argument (or the value of --flag=value) into the pod's world: a path under a mount
// point to the same path under rootfs, a listen address on a container port, or on the pod's own loopback,
// to its host loopback port.
func (w *worker) localArg(c *container, arg string) string {
	if flag, value, ok := strings.Cut(arg, "="); ok && strings.HasPrefix(flag, "-") {
		return flag + "=" + w.localArg(c, value)
	}
	if m := listenArg.FindStringSubmatch(arg); m != nil {
		port, _ := strconv.Atoi(m[2])
		if local, ok := c.ports[int32(port)]; ok {
			return net.JoinHostPort(w.ip, strconv.Itoa(local))
		}
	}
	if port, ok := podLoopbackPort(arg); ok {
		if local, ok := c.podLoopback[port]; ok {
			return fmt.Sprintf("%s:%d", loopback, local)
		}
	}
	for _, mount := range c.spec.VolumeMounts {
		if arg == mount.MountPath || strings.HasPrefix(arg, strings.TrimSuffix(mount.MountPath, "/")+"/") {
			return filepath.Join(w.rootfs, arg)
		}
	}
	return arg
}
