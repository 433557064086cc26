package containerdtest

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Config is what a test's containerd is told: everything under Dir.
type Config struct {
	// Dir holds the configuration, root, state and socket. Unix socket
	// paths are limited to 108 bytes: keep it short.
	Dir string
	// CRI configures the CRI plugin; nil disables it.
	CRI *CRI
	// DebugLog sets containerd's log level to debug.
	DebugLog bool
}

// CRI is the CRI plugin's configuration.
type CRI struct {
	SandboxImage   string    // the pause image, imported beforehand
	DefaultRuntime string    // a name in Runtimes
	Runtimes       []Runtime // runtime handlers
	CNIBinDir      string    // e.g. /usr/lib/cni (Debian's containernetworking-plugins)
	CNIConfDir     string
}

// Runtime is a CRI runtime handler: its name and containerd runtime type.
type Runtime struct {
	Name string // the handler: "kite", "runc"
	Type string // "io.containerd.kite.v2", "io.containerd.runc.v2"
	// PrivilegedWithoutHostDevices keeps the host's device nodes out of a
	// privileged container's spec (what docs/containerd.md tells Kite's
	// users to set: the host's devices mean nothing in the guest).
	PrivilegedWithoutHostDevices bool
}

// table writes the runtime's table under prefix.
func (rt Runtime) table(b *strings.Builder, prefix string) {
	fmt.Fprintf(b, "[%s.containerd.runtimes.%s]\n  runtime_type = %q\n", prefix, rt.Name, rt.Type)
	if rt.PrivilegedWithoutHostDevices {
		b.WriteString("  privileged_without_host_devices = true\n")
	}
}

// Socket is the containerd's gRPC socket.
func (c Config) Socket() string { return filepath.Join(c.Dir, "c.sock") }

// Root is containerd's root directory (content, snapshots, metadata).
func (c Config) Root() string { return filepath.Join(c.Dir, "root") }

// State is containerd's state directory (task bundles, shim sockets).
func (c Config) State() string { return filepath.Join(c.Dir, "state") }

// Path is where the configuration file is written.
func (c Config) Path() string { return filepath.Join(c.Dir, "containerd.toml") }

// Snapshotters that need host facilities the tests do not have.
var unusedSnapshotters = []string{"io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
	"io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"}

// TOML renders the configuration file for a containerd whose configuration
// version is configVersion: 2 (containerd 1.x: the CRI plugin is
// io.containerd.grpc.v1.cri) or 3 (containerd 2.x: io.containerd.cri.v1.runtime
// and io.containerd.cri.v1.images, the pause image a pinned image).
// containerdMinor picks the CNI key (2.0 has bin_dir, 2.1 on bin_dirs).
func (c Config) TOML(configVersion, containerdMinor int) (string, error) {
	if configVersion != 2 && configVersion != 3 {
		return "", fmt.Errorf("containerd configuration version %d: want 2 (containerd 1.x) or 3 (2.x)", configVersion)
	}
	if c.Dir == "" {
		return "", fmt.Errorf("containerd configuration without a directory")
	}
	disabled := append([]string(nil), unusedSnapshotters...)
	if c.CRI == nil {
		disabled = append(disabled, "io.containerd.grpc.v1.cri")
		if configVersion == 3 {
			disabled = append(disabled, "io.containerd.cri.v1.runtime", "io.containerd.cri.v1.images")
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "version = %d\nroot = %q\nstate = %q\ndisabled_plugins = [%s]\n[grpc]\n  address = %q\n",
		configVersion, c.Root(), c.State(), quoteList(disabled), c.Socket())
	if c.DebugLog {
		b.WriteString("[debug]\n  level = \"debug\"\n")
	}
	if c.CRI == nil {
		return b.String(), nil
	}
	if err := c.CRI.validate(); err != nil {
		return "", err
	}
	if configVersion == 2 {
		c.CRI.writeV2(&b)
	} else {
		c.CRI.writeV3(&b, containerdMinor)
	}
	return b.String(), nil
}

func (r *CRI) validate() error {
	if r.SandboxImage == "" || r.CNIBinDir == "" || r.CNIConfDir == "" {
		return fmt.Errorf("CRI configuration: sandbox image, CNI bin and conf directories are required")
	}
	for _, rt := range r.Runtimes {
		if rt.Name == r.DefaultRuntime {
			return nil
		}
	}
	return fmt.Errorf("CRI configuration: default runtime %q is not among the runtimes", r.DefaultRuntime)
}

// writeV2 is the CRI plugin of containerd 1.6 and 1.7.
func (r *CRI) writeV2(b *strings.Builder) {
	const p = `plugins."io.containerd.grpc.v1.cri"`
	fmt.Fprintf(b, "[%s]\n  sandbox_image = %q\n  restrict_oom_score_adj = true\n  disable_apparmor = true\n", p, r.SandboxImage)
	fmt.Fprintf(b, "[%s.containerd]\n  snapshotter = \"overlayfs\"\n  default_runtime_name = %q\n", p, r.DefaultRuntime)
	for _, rt := range r.Runtimes {
		rt.table(b, p)
	}
	fmt.Fprintf(b, "[%s.cni]\n  bin_dir = %q\n  conf_dir = %q\n", p, r.CNIBinDir, r.CNIConfDir)
}

// writeV3 is the CRI plugins of containerd 2.x.
func (r *CRI) writeV3(b *strings.Builder, minor int) {
	const img, rt = `plugins."io.containerd.cri.v1.images"`, `plugins."io.containerd.cri.v1.runtime"`
	fmt.Fprintf(b, "[%s]\n  snapshotter = \"overlayfs\"\n[%s.pinned_images]\n  sandbox = %q\n", img, img, r.SandboxImage)
	fmt.Fprintf(b, "[%s]\n  restrict_oom_score_adj = true\n  disable_apparmor = true\n", rt)
	fmt.Fprintf(b, "[%s.containerd]\n  default_runtime_name = %q\n", rt, r.DefaultRuntime)
	for _, h := range r.Runtimes {
		h.table(b, rt)
	}
	if minor == 0 {
		fmt.Fprintf(b, "[%s.cni]\n  bin_dir = %q\n  conf_dir = %q\n", rt, r.CNIBinDir, r.CNIConfDir)
	} else {
		fmt.Fprintf(b, "[%s.cni]\n  bin_dirs = [%q]\n  conf_dir = %q\n", rt, r.CNIBinDir, r.CNIConfDir)
	}
}

func quoteList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
