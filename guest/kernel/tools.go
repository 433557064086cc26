package kernel

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"slices"
	"strings"
)

// headers the build compiles against: objtool needs libelf.
var headers = map[string]string{"/usr/include/gelf.h": "libelf-dev"}

// CheckTools reports every build tool or header that is missing, with the
// Debian packages that bring them (all in the Makefile's `make setup`).
func CheckTools() error {
	var missing, pkgs []string
	for _, tool := range []string{"make", "gcc", "ld", "objcopy", "flex", "bison", "bc", "tar", "xz", "dpkg-deb"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
			if p := toolPackage[tool]; p != "" && !slices.Contains(pkgs, p) {
				pkgs = append(pkgs, p)
			}
		}
	}
	for file, pkg := range headers {
		if _, err := os.Stat(file); err != nil {
			missing, pkgs = append(missing, file), append(pkgs, pkg)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s (try: apt-get install %s, or make setup)", ErrToolchain, strings.Join(missing, ", "), strings.Join(pkgs, " "))
}

// extractSource unpacks the source tarball held in a linux-source .deb
// (usr/src/linux-source-<v>.tar.xz) into dir, without its top directory.
// dpkg-deb reads the package and tar with xz unpacks the tarball: both are
// several times faster than decompressing in Go.
func extractSource(ctx context.Context, debPath, dir string, log io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	deb := exec.CommandContext(ctx, "dpkg-deb", "--fsys-tarfile", debPath)
	deb.Stderr = log
	data, err := deb.StdoutPipe()
	if err != nil {
		return err
	}
	if err := deb.Start(); err != nil {
		return fmt.Errorf("reading %s: %w", debPath, err)
	}
	found, err := untarSource(ctx, tar.NewReader(data), dir, log)
	if err == nil {
		_, err = io.Copy(io.Discard, data) // let dpkg-deb finish writing
	}
	werr := deb.Wait()
	switch {
	case err != nil:
		return fmt.Errorf("unpacking the kernel source from %s: %w", debPath, err)
	case werr != nil:
		return fmt.Errorf("reading %s: dpkg-deb: %w", debPath, werr)
	case !found:
		return fmt.Errorf("unpacking the kernel source: %s holds no usr/src/linux-source-*.tar.xz", debPath)
	}
	return nil
}

// untarSource finds the source tarball in the package's data archive and
// unpacks it with tar.
func untarSource(ctx context.Context, tr *tar.Reader, dir string, log io.Writer) (bool, error) {
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		name := path.Clean(strings.TrimPrefix(h.Name, "./"))
		if h.Typeflag != tar.TypeReg || !strings.HasPrefix(name, "usr/src/linux-source-") || !strings.HasSuffix(name, ".tar.xz") {
			continue
		}
		cmd := exec.CommandContext(ctx, "tar", "-xJ", "--strip-components=1", "-C", dir)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = tr, log, log
		if err := cmd.Run(); err != nil {
			return true, fmt.Errorf("tar -xJ %s: %w", name, err)
		}
		return true, nil
	}
}
