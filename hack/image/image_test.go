// Package image checks the operator's image without Docker: the Dockerfile's build stage and this test build
// the binaries with one script (build-binaries.sh), so what is checked here is what the image ships. The test
// fails when the Dockerfile stops copying a source the binaries need, when its Go is older than go.mod asks,
// or when a binary is not static or cannot run as the image's non-root user.
package image

import (
	"bufio"
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/fulfillment-dev/fulfillment-operator/controllers"
	"github.com/fulfillment-dev/fulfillment-operator/internal/testenv"
)

const (
	buildScript = "hack/image/build-binaries.sh"
	// nonRoot is the image's user (distroless nonroot, USER in the Dockerfile, runAsUser in config/manager).
	nonRoot = 65532
	// version is what the binaries built here must report.
	version = "v0.0.0-image-check"
)

// TestImageBuild builds the image's binaries as the Dockerfile does and checks the Dockerfile and them.
func TestImageBuild(t *testing.T) {
	root := testenv.RepoRoot()
	docker := parseDockerfile(t, filepath.Join(root, "Dockerfile"))
	checkBuildRunsScript(t, docker)
	checkGoVersion(t, root, docker)
	checkSourcesCopied(t, root, docker)

	rootfs := buildRootfs(t, root)
	checkFinalStage(t, docker, rootfs)
	for _, binary := range []string{"manager", "webhookserver"} {
		checkStatic(t, filepath.Join(rootfs, binary))
		checkBuildTags(t, filepath.Join(rootfs, binary))
	}
	out := runAsNonRoot(t, filepath.Join(rootfs, "webhookserver"), "version")
	if !strings.Contains(out, version) {
		t.Errorf("webhookserver version says %q, want the version %s given to the build", out, version)
	}
	if out := runAsNonRoot(t, filepath.Join(rootfs, "manager"), "--help"); !strings.Contains(out, "-webhookserver-image") {
		t.Errorf("manager --help does not describe --webhookserver-image:\n%s", out)
	}
}

// checkBuildTags checks the binary was built with grpcnotrace, which keeps html/template out of it.
func checkBuildTags(t *testing.T, path string) {
	t.Helper()
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, setting := range info.Settings {
		if setting.Key == "-tags" && slices.Contains(strings.Split(setting.Value, ","), "grpcnotrace") {
			return
		}
	}
	t.Errorf("%s was built without the grpcnotrace tag (settings %v)", path, info.Settings)
}

// dockerfile is what the checks read from the Dockerfile, by stage: the first stage builds, the last ships.
type dockerfile struct {
	goImageVersion string     // the tag of FROM golang:<tag>
	buildRuns      []string   // the build stage's RUN instructions, continuation lines joined
	buildCopies    [][]string // the build stage's COPY sources
	finalCopies    [][]string // the final stage's COPY --from=build [source, destination]
	user           string
	entrypoint     string
}

var golangImage = regexp.MustCompile(`^FROM\s+golang:(\d+\.\d+(?:\.\d+)?)\S*\s+AS\s+build$`)

func parseDockerfile(t *testing.T, path string) dockerfile {
	t.Helper()
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d dockerfile
	stage := 0
	for _, instruction := range instructions(string(content)) {
		fields := strings.Fields(instruction)
		switch keyword := strings.ToUpper(fields[0]); {
		case keyword == "FROM":
			stage++
			if m := golangImage.FindStringSubmatch(instruction); stage == 1 && m != nil {
				d.goImageVersion = m[1]
			}
		case keyword == "RUN" && stage == 1:
			d.buildRuns = append(d.buildRuns, strings.Join(fields[1:], " "))
		case keyword == "COPY" && stage == 1:
			d.buildCopies = append(d.buildCopies, fields[1:len(fields)-1])
		case keyword == "COPY" && fields[1] == "--from=build":
			d.finalCopies = append(d.finalCopies, fields[2:])
		case keyword == "USER":
			d.user = fields[1]
		case keyword == "ENTRYPOINT":
			var entrypoint []string
			if err := json.Unmarshal([]byte(strings.Join(fields[1:], " ")), &entrypoint); err != nil || len(entrypoint) == 0 {
				t.Fatalf("ENTRYPOINT %q is not an exec-form list", instruction)
			}
			d.entrypoint = entrypoint[0]
		}
	}
	if d.goImageVersion == "" {
		t.Fatal("the Dockerfile's first stage is not FROM golang:<version> AS build")
	}
	return d
}

// instructions are the Dockerfile's instructions, comments dropped and continuation lines joined.
func instructions(content string) []string {
	var all []string
	var current strings.Builder
	scanner := bufio.NewScanner(strings.NewReader(content))
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		continued := strings.HasSuffix(line, "\\")
		current.WriteString(strings.TrimSuffix(line, "\\") + " ")
		if !continued {
			all = append(all, strings.TrimSpace(current.String()))
			current.Reset()
		}
	}
	return all
}

// checkBuildRunsScript: the build stage builds only through the shared script, so no flag can drift.
func checkBuildRunsScript(t *testing.T, d dockerfile) {
	t.Helper()
	runsScript := false
	for _, run := range d.buildRuns {
		runsScript = runsScript || strings.Contains(run, buildScript+" /out")
		if strings.Contains(run, "go build") || strings.Contains(run, "go install") {
			t.Errorf("the Dockerfile builds outside %s: RUN %s", buildScript, run)
		}
	}
	if !runsScript {
		t.Errorf("no RUN of the Dockerfile's build stage runs %s /out", buildScript)
	}
}

// checkGoVersion: the build image's Go is at least the version go.mod requires.
func checkGoVersion(t *testing.T, root string, d dockerfile) {
	t.Helper()
	content, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	directive := regexp.MustCompile(`(?m)^go\s+(\d+(?:\.\d+){1,2})\s*$`).FindSubmatch(content)
	if directive == nil {
		t.Fatal("go.mod has no go directive")
	}
	required := string(directive[1])
	if !atLeast(d.goImageVersion, required) {
		t.Errorf("the Dockerfile builds with golang:%s, go.mod requires go %s", d.goImageVersion, required)
	}
}

// atLeast compares Go versions such as 1.26 and 1.26.1; an image tag without its patch level (golang:1.26)
// is the newest 1.26.x, so it satisfies any 1.26.x.
func atLeast(image, required string) bool {
	have, want := strings.Split(image, "."), strings.Split(required, ".")
	for i, part := range want {
		if i >= len(have) {
			return true
		}
		h, _ := strconv.Atoi(have[i])
		w, _ := strconv.Atoi(part)
		if h != w {
			return h > w
		}
	}
	return true
}

// checkSourcesCopied: every file the two binaries compile or embed, go.mod, go.sum and the build script are
// copied into the build stage and not excluded by .dockerignore.
func checkSourcesCopied(t *testing.T, root string, d dockerfile) {
	t.Helper()
	var copied []string
	for _, sources := range d.buildCopies {
		copied = append(copied, sources...)
	}
	ignored := dockerignore(t, root)
	for _, file := range append(buildInputs(t, root), "go.mod", "go.sum", buildScript) {
		if !slices.ContainsFunc(copied, func(source string) bool { return covers(source, file) }) {
			t.Errorf("the binaries need %s, which the Dockerfile does not COPY", file)
		}
		if slices.ContainsFunc(ignored, func(pattern string) bool { return covers(pattern, file) }) {
			t.Errorf("the binaries need %s, which .dockerignore leaves out of the build context", file)
		}
	}
}

// covers tells whether a COPY source or .dockerignore entry (a file, or a folder with or without its slash)
// includes file.
func covers(source, file string) bool {
	source = strings.TrimSuffix(strings.TrimPrefix(source, "./"), "/")
	return source == "." || file == source || strings.HasPrefix(file, source+"/")
}

func dockerignore(t *testing.T, root string) []string {
	t.Helper()
	content, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, line := range strings.Split(string(content), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			patterns = append(patterns, line)
		}
	}
	return patterns
}

// buildInputs are the repository files (relative paths) the two binaries compile or embed, for the image's
// platform: go list -deps over both main packages.
func buildInputs(t *testing.T, root string) []string {
	t.Helper()
	list := exec.Command("go", "list", "-deps", "-json=Dir,Module,GoFiles,EmbedFiles", ".", "./webhookserver/cmd/webhookserver")
	list.Dir, list.Env = root, append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	out, err := list.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	var files []string
	decoder := json.NewDecoder(bytes.NewReader(out))
	for decoder.More() {
		var pkg struct {
			Dir                 string
			Module              *struct{ Main bool }
			GoFiles, EmbedFiles []string
		}
		if err := decoder.Decode(&pkg); err != nil {
			t.Fatal(err)
		}
		if pkg.Module == nil || !pkg.Module.Main {
			continue
		}
		for _, file := range append(pkg.GoFiles, pkg.EmbedFiles...) {
			relative, err := filepath.Rel(root, filepath.Join(pkg.Dir, file))
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, filepath.ToSlash(relative))
		}
	}
	if len(files) == 0 {
		t.Fatal("go list found no file of the module")
	}
	return files
}

// buildRootfs runs the build script into IMAGE_ROOTFS (make image-rootfs keeps the result there) or a
// temporary folder, readable by the non-root user.
func buildRootfs(t *testing.T, root string) string {
	t.Helper()
	rootfs := os.Getenv("IMAGE_ROOTFS")
	if rootfs == "" {
		var err error
		if rootfs, err = os.MkdirTemp("", "image-rootfs-"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.RemoveAll(rootfs) })
	}
	if err := os.MkdirAll(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(rootfs, 0o755); err != nil { //nolint:gosec // the image's non-root user runs what it holds
		t.Fatal(err)
	}
	build := exec.Command(filepath.Join(root, buildScript), rootfs)
	build.Dir = root
	// As the Dockerfile's ARGs would: the platform is the host's, so that the binaries run here.
	build.Env = append(os.Environ(), "VERSION="+version, "COMMIT=0000000", "TARGETOS=", "TARGETARCH=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", buildScript, err, out)
	}
	return rootfs
}

// checkFinalStage: the image ships the script's two binaries where the operator runs them (its ENTRYPOINT, the
// fulfillment pods' command), as the non-root user.
func checkFinalStage(t *testing.T, d dockerfile, rootfs string) {
	t.Helper()
	shipped := map[string]bool{}
	for _, copy := range d.finalCopies {
		if len(copy) != 2 {
			t.Errorf("COPY --from=build %v: want one source and one destination", copy)
			continue
		}
		if _, err := os.Stat(filepath.Join(rootfs, strings.TrimPrefix(copy[0], "/out/"))); !strings.HasPrefix(copy[0], "/out/") || err != nil {
			t.Errorf("the image copies %s, which %s does not build", copy[0], buildScript)
		}
		shipped[copy[1]] = true
	}
	for _, path := range []string{d.entrypoint, controllers.ServerCommand} {
		if !shipped[path] {
			t.Errorf("the image has no %s (shipped: %v)", path, shipped)
		}
	}
	if d.user != "65532:65532" {
		t.Errorf("the image runs as USER %q, want 65532:65532", d.user)
	}
}

// checkStatic: no program interpreter and no dynamic section, so the binary runs on distroless/static.
func checkStatic(t *testing.T, path string) {
	t.Helper()
	file, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = file.Close() }()
	for _, program := range file.Progs {
		if program.Type == elf.PT_INTERP || program.Type == elf.PT_DYNAMIC {
			t.Errorf("%s is dynamically linked (%s program header)", filepath.Base(path), program.Type)
		}
	}
	if section := file.Section(".dynamic"); section != nil {
		t.Errorf("%s has a .dynamic section", filepath.Base(path))
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm()&0o005 != 0o005 {
		t.Errorf("%s has mode %s: the image's non-root user cannot run it", filepath.Base(path), info.Mode().Perm())
	}
}

// runAsNonRoot runs a binary as the image's user when the test can switch users (it runs as root), else as the
// test's own non-root user, with the empty environment and root folder of a distroless container.
func runAsNonRoot(t *testing.T, binary string, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir, cmd.Env = "/", []string{"HOME=/home/nonroot"}
	if os.Getuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nonRoot, Gid: nonRoot}}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("%s %s as user %d: %v\n%s", filepath.Base(binary), strings.Join(args, " "), nonRoot, err, out)
	}
	return string(out)
}

func TestAtLeast(t *testing.T) {
	for _, c := range []struct {
		image, required string
		want            bool
	}{
		{"1.26", "1.26.0", true}, {"1.26", "1.26.3", true}, {"1.26.1", "1.26.3", false}, {"1.25", "1.26.0", false},
		{"1.27", "1.26.5", true}, {"1.26.3", "1.26", true}, {"2.0", "1.30", true},
	} {
		if got := atLeast(c.image, c.required); got != c.want {
			t.Errorf("atLeast(%s, %s) = %v, want %v", c.image, c.required, got, c.want)
		}
	}
}
