package containerdtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// ReleasesEnv lists the containerd releases to test, as directories holding
// containerd and ctr, separated by colons (what `make test` passes).
const ReleasesEnv = "KITE_TEST_CONTAINERD"

// Release is one containerd build: the directory of its containerd and ctr
// binaries and the version they report.
type Release struct {
	Dir     string
	Version string // as reported, without a leading "v": "1.6.20~ds1", "2.4.2"
	Major   int
	Minor   int
}

// Name is the release's major.minor: "1.6", "2.4".
func (r Release) Name() string { return fmt.Sprintf("%d.%d", r.Major, r.Minor) }

// Containerd is the path of the release's containerd binary.
func (r Release) Containerd() string { return filepath.Join(r.Dir, "containerd") }

// CtrPath is the path of the release's ctr binary.
func (r Release) CtrPath() string { return filepath.Join(r.Dir, "ctr") }

// ConfigVersion is the configuration file version the release reads: 3 for
// containerd 2.x, 2 for 1.x.
func (r Release) ConfigVersion() int {
	if r.Major >= 2 {
		return 3
	}
	return 2
}

// ParseVersion reads the output of `containerd --version`:
// "containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3"
// (Debian) or "containerd github.com/containerd/containerd/v2 v2.4.2 <rev>".
func ParseVersion(out string) (version string, major, minor int, err error) {
	f := strings.Fields(out)
	if len(f) < 3 || f[0] != "containerd" {
		return "", 0, 0, fmt.Errorf("containerd --version printed %q: want \"containerd <module> <version> ...\"", strings.TrimSpace(out))
	}
	version = strings.TrimPrefix(f[2], "v")
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return "", 0, 0, fmt.Errorf("containerd version %q: want major.minor", f[2])
	}
	if major, err = strconv.Atoi(parts[0]); err == nil {
		minor, err = strconv.Atoi(parts[1])
	}
	if err != nil {
		return "", 0, 0, fmt.Errorf("containerd version %q: %w", f[2], err)
	}
	return version, major, minor, nil
}

// Probe finds the release whose containerd and ctr are in dir.
func Probe(dir string) (Release, error) {
	r := Release{Dir: dir}
	for _, bin := range []string{r.Containerd(), r.CtrPath()} {
		if _, err := os.Stat(bin); err != nil {
			return Release{}, fmt.Errorf("containerd release in %s: %w", dir, err)
		}
	}
	out, err := exec.Command(r.Containerd(), "--version").Output()
	if err != nil {
		return Release{}, fmt.Errorf("%s --version: %w", r.Containerd(), err)
	}
	if r.Version, r.Major, r.Minor, err = ParseVersion(string(out)); err != nil {
		return Release{}, fmt.Errorf("%s: %w", r.Containerd(), err)
	}
	return r, nil
}

// Releases returns the releases named by KITE_TEST_CONTAINERD, in its order,
// or, when it is unset, the one whose containerd is on PATH. Two entries of
// one major.minor are refused: the tests name their subtests after it.
func Releases() ([]Release, error) {
	env := os.Getenv(ReleasesEnv)
	if env == "" {
		p, err := exec.LookPath("containerd")
		if err != nil {
			return nil, fmt.Errorf("no containerd on PATH and %s unset: %w", ReleasesEnv, err)
		}
		r, err := Probe(filepath.Dir(p))
		if err != nil {
			return nil, err
		}
		return []Release{r}, nil
	}
	var rels []Release
	seen := map[string]string{}
	for _, dir := range strings.Split(env, ":") {
		if dir == "" {
			continue
		}
		r, err := Probe(dir)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ReleasesEnv, err)
		}
		if prev, ok := seen[r.Name()]; ok {
			return nil, fmt.Errorf("%s: %s and %s are both containerd %s", ReleasesEnv, prev, dir, r.Name())
		}
		seen[r.Name()] = dir
		rels = append(rels, r)
	}
	if len(rels) == 0 {
		return nil, fmt.Errorf("%s=%q names no directory", ReleasesEnv, env)
	}
	return rels, nil
}
