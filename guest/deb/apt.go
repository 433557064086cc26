package deb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ErrUnknownPackage means apt has no record of a package (its lists may be
// empty: `apt-get update` fixes that).
var ErrUnknownPackage = errors.New("package unknown to apt")

// Candidate is the version of a package apt would install.
type Candidate struct {
	Package      string
	Version      string
	Architecture string
}

// FileName is the name apt gives the candidate's .deb (an epoch's ':' is
// written "%3a").
func (c Candidate) FileName() string {
	return fmt.Sprintf("%s_%s_%s.deb", c.Package, strings.ReplaceAll(c.Version, ":", "%3a"), c.Architecture)
}

// Depends returns the packages pkg depends on directly, as `apt-cache
// depends` lists them (alternatives included, virtual packages left out).
func Depends(ctx context.Context, pkg string) ([]string, error) {
	out, err := run(ctx, "", "apt-cache", "depends", pkg)
	if err != nil {
		return nil, err
	}
	return parseDepends(out), nil
}

// Show returns the candidate version of pkg.
func Show(ctx context.Context, pkg string) (Candidate, error) {
	out, err := run(ctx, "", "apt-cache", "show", "--no-all-versions", pkg)
	if err != nil {
		return Candidate{}, err
	}
	c := parseControl(out)
	if c.Package != pkg || c.Version == "" || c.Architecture == "" {
		return Candidate{}, fmt.Errorf("%w: apt-cache show %s gave no version", ErrUnknownPackage, pkg)
	}
	return Candidate(c), nil
}

// Update runs `apt-get update`.
func Update(ctx context.Context) error {
	_, err := run(ctx, "", "apt-get", "update")
	return err
}

// Download fetches the candidate's .deb into dir and returns its path. The
// download goes to a temporary directory inside dir and is renamed into place
// only after its control stanza matches c, so dir never holds a partial or
// wrong package under the final name.
func Download(ctx context.Context, c Candidate, dir string) (string, error) {
	tmp, err := os.MkdirTemp(dir, ".download-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	// The sandbox user cannot write into a root-owned cache directory;
	// downloading as root is what apt falls back to anyway, minus the warning.
	if _, err := run(ctx, tmp, "apt-get", "download", "-o", "APT::Sandbox::User=root", c.Package+"="+c.Version); err != nil {
		return "", err
	}
	got := filepath.Join(tmp, c.FileName())
	if err := Verify(got, c); err != nil {
		return "", err
	}
	final := filepath.Join(dir, c.FileName())
	if err := os.Rename(got, final); err != nil {
		return "", err
	}
	return final, nil
}

// Verify checks that the .deb at path is the candidate c.
func Verify(path string, c Candidate) error {
	d, err := Open(path)
	if err != nil {
		return err
	}
	defer d.Close()
	ctl, err := d.Control()
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	if got := Candidate(ctl); got != c {
		return fmt.Errorf("%s holds %s %s (%s), want %s %s (%s)", path,
			got.Package, got.Version, got.Architecture, c.Package, c.Version, c.Architecture)
	}
	return nil
}

// run runs an apt command and returns its standard output.
func run(ctx context.Context, dir, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "DEBIAN_FRONTEND=noninteractive")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if strings.Contains(msg, "No packages found") || strings.Contains(msg, "Unable to locate package") {
			return "", fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), ErrUnknownPackage, msg)
		}
		return "", fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, msg)
	}
	return stdout.String(), nil
}

// parseDepends reads `apt-cache depends` output.
func parseDepends(out string) []string {
	var deps []string
	for _, line := range strings.Split(out, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimLeft(strings.TrimSpace(line), "|"), "Depends:")
		if !ok {
			continue
		}
		if name := strings.TrimSpace(rest); name != "" && !strings.HasPrefix(name, "<") {
			deps = append(deps, name)
		}
	}
	return deps
}
