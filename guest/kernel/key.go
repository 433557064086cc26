package kernel

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os/exec"
	"strings"
)

// Recipe is the version of how Build turns source and fragments into a
// kernel (base config, make targets and variables, what is kept). Bump it
// whenever a change here changes the output, so cached kernels are rebuilt.
const Recipe = 1

// Source identifies the kernel source: a Debian linux-source package.
type Source struct {
	Package string // e.g. linux-source-6.1
	Version string // Debian version, e.g. 6.1.192-3
	SHA256  string // of the .deb
	Path    string // the .deb on disk; not part of the key
}

// KeyInputs is everything that decides the built kernel's bytes.
type KeyInputs struct {
	Source    Source
	Fragments []Fragment // in merge order
	Toolchain string     // Toolchain(): compiler and linker versions
}

// Key hashes the inputs into the cache key of a build: the same key, the
// same kernel. The source's path is left out (the hash covers it), the
// fragments are hashed as given, names and all.
func (in KeyInputs) Key() string {
	h := sha256.New()
	fmt.Fprintf(h, "kite-kernel recipe %d\n", Recipe)
	fmt.Fprintf(h, "source %s %s %s\n", in.Source.Package, in.Source.Version, in.Source.SHA256)
	for _, f := range in.Fragments {
		sum := sha256.Sum256(f.data)
		fmt.Fprintf(h, "fragment %q %x\n", f.Name, sum)
	}
	fmt.Fprintf(h, "toolchain %q\n", in.Toolchain)
	return hex.EncodeToString(h.Sum(nil))
}

// Toolchain describes the compiler and linker the build will use (the
// first line of `gcc --version` and `ld --version`): another compiler makes
// another kernel.
func Toolchain(ctx context.Context) (string, error) {
	var lines []string
	for _, tool := range []string{"gcc", "ld"} {
		out, err := exec.CommandContext(ctx, tool, "--version").Output()
		if err != nil {
			return "", fmt.Errorf("%w: %s --version: %w (try: apt-get install %s)", ErrToolchain, tool, err, toolPackage[tool])
		}
		first, _, _ := strings.Cut(string(out), "\n")
		lines = append(lines, strings.TrimSpace(first))
	}
	return strings.Join(lines, "; "), nil
}

// toolPackage names the Debian package of each build tool, for hints.
var toolPackage = map[string]string{
	"gcc": "gcc", "ld": "binutils", "objcopy": "binutils", "make": "make", "bc": "bc",
	"flex": "flex", "bison": "bison", "tar": "tar", "xz": "xz-utils", "dpkg-deb": "dpkg",
}
