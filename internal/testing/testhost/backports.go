package testhost

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// ErrNoMirror means APT's sources name no Debian bookworm mirror to take
// bookworm-backports from.
var ErrNoMirror = errors.New("no Debian bookworm mirror in APT's sources")

// backportPackages make a QEMU 10 that runs from a directory, beside the
// system's QEMU 7.2: the emulator, its modules, its firmware, SeaBIOS.
var backportPackages = []string{"qemu-system-x86", "qemu-system-common", "qemu-system-data", "seabios"}

// BackportQEMU is a QEMU unpacked from bookworm-backports. QEMU 10 has the
// igb NIC (82576, SR-IOV with up to 7 VFs) that QEMU 7.2 lacks.
type BackportQEMU struct {
	Binary   string
	DataDirs []string // -L, before the system's
}

// FetchBackportQEMU returns the backports QEMU unpacked under dir, fetching
// it first if needed: `apt-get download` with a private source list (the
// system's Debian mirror, suite bookworm-backports) and private lists and
// cache under dir, so the system's APT state is not touched, then
// `dpkg-deb -x`. The system's libraries satisfy it: backports are built for
// bookworm. aptEtc is normally /etc/apt.
func FetchBackportQEMU(ctx context.Context, aptEtc, dir string) (BackportQEMU, error) {
	q := BackportQEMU{
		Binary:   filepath.Join(dir, "root/usr/bin/qemu-system-x86_64"),
		DataDirs: []string{filepath.Join(dir, "root/usr/share/qemu"), filepath.Join(dir, "root/usr/share/seabios")},
	}
	ready := filepath.Join(dir, "ready")
	if _, err := os.Stat(ready); err == nil {
		return q, nil
	}
	mirror, err := debianMirror(aptEtc)
	if err != nil {
		return BackportQEMU{}, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return BackportQEMU{}, err
	}
	debs, err := downloadBackports(ctx, mirror, dir)
	if err != nil {
		return BackportQEMU{}, err
	}
	for _, d := range debs {
		if out, err := exec.CommandContext(ctx, "dpkg-deb", "-x", d, filepath.Join(dir, "root")).CombinedOutput(); err != nil {
			return BackportQEMU{}, fmt.Errorf("unpacking %s: %w: %s", d, err, out)
		}
	}
	if err := os.WriteFile(ready, []byte(strings.Join(debs, "\n")+"\n"), 0o644); err != nil {
		return BackportQEMU{}, err
	}
	return q, nil
}

// downloadBackports runs apt-get update and download against a private
// APT state under dir and returns the .deb paths.
func downloadBackports(ctx context.Context, mirror, dir string) ([]string, error) {
	apt := filepath.Join(dir, "apt")
	dl := filepath.Join(dir, "debs")
	for _, d := range []string{filepath.Join(apt, "lists/partial"), filepath.Join(apt, "cache/archives/partial"), dl} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	list := filepath.Join(apt, "sources.list")
	line := "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] " + mirror + " bookworm-backports main\n"
	if err := os.WriteFile(list, []byte(line), 0o644); err != nil {
		return nil, err
	}
	opts := []string{
		"-o", "Dir::Etc::SourceList=" + list, "-o", "Dir::Etc::SourceParts=" + filepath.Join(apt, "none"),
		"-o", "Dir::State::Lists=" + filepath.Join(apt, "lists"), "-o", "Dir::Cache=" + filepath.Join(apt, "cache"),
		// The private state is ours alone; the system's lock is not needed.
		"-o", "Debug::NoLocking=1",
	}
	steps := [][]string{append(slices.Clone(opts), "update"), append(append(slices.Clone(opts), "download"), backportPackages...)}
	for _, args := range steps {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Dir = dl
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("apt-get %s (bookworm-backports from %s): %w: %s", args[len(opts)], mirror, err, out)
		}
	}
	debs, err := filepath.Glob(filepath.Join(dl, "*.deb"))
	if err != nil || len(debs) != len(backportPackages) {
		return nil, fmt.Errorf("apt-get download left %v in %s, want %d packages (%v)", debs, dl, len(backportPackages), err)
	}
	return debs, nil
}

// debianMirror finds the URI APT uses for Debian bookworm, in deb822
// sources.list.d/*.sources files or one-line sources.list files.
func debianMirror(aptEtc string) (string, error) {
	files, _ := filepath.Glob(filepath.Join(aptEtc, "sources.list.d", "*.sources"))
	for _, f := range files {
		if uri := mirrorDeb822(f); uri != "" {
			return uri, nil
		}
	}
	lists, _ := filepath.Glob(filepath.Join(aptEtc, "sources.list.d", "*.list"))
	for _, f := range append([]string{filepath.Join(aptEtc, "sources.list")}, lists...) {
		if uri := mirrorOneLine(f); uri != "" {
			return uri, nil
		}
	}
	return "", fmt.Errorf("%w (looked under %s)", ErrNoMirror, aptEtc)
}

// mirrorDeb822 returns the first URI of a stanza whose Suites include
// bookworm.
func mirrorDeb822(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	for _, stanza := range strings.Split(string(b), "\n\n") {
		fields := map[string][]string{}
		for _, l := range strings.Split(stanza, "\n") {
			k, v, ok := strings.Cut(l, ":")
			if ok && !strings.HasPrefix(l, "#") {
				fields[strings.ToLower(strings.TrimSpace(k))] = strings.Fields(v)
			}
		}
		if slices.Contains(fields["suites"], "bookworm") && len(fields["uris"]) > 0 && !slices.Contains(fields["enabled"], "no") {
			return fields["uris"][0]
		}
	}
	return ""
}

// mirrorOneLine reads "deb [options] URI bookworm components" lines.
func mirrorOneLine(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		w := strings.Fields(sc.Text())
		if len(w) < 3 || w[0] != "deb" {
			continue
		}
		w = w[1:]
		if strings.HasPrefix(w[0], "[") {
			for len(w) > 0 && !strings.HasSuffix(w[0], "]") {
				w = w[1:]
			}
			if len(w) > 0 {
				w = w[1:]
			}
		}
		if len(w) >= 2 && w[1] == "bookworm" {
			return w[0]
		}
	}
	return ""
}
