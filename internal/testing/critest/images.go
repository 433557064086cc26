package critest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/kite-vm/kite/internal/testing/containerdtest"
)

// The image names critest v1.37 runs containers of (pkg/validate and
// pkg/framework), and the local pause image the CRI plugin's sandboxes run.
const (
	e2eImages         = "registry.k8s.io/e2e-test-images/"
	criToolsImages    = "gcr.io/k8s-staging-cri-tools/"
	BusyboxImage      = e2eImages + "busybox:1.29-2"
	NginxImage        = e2eImages + "nginx:1.14-2"
	HttpdImage        = e2eImages + "httpd:2.4.39-4"
	NoNewPrivsImage   = e2eImages + "nonewprivs:1.3"
	HostNetNginxImage = criToolsImages + "hostnet-nginx-amd64"
	GroupImage        = criToolsImages + "test-image-predefined-group"
	PauseImage        = "localhost/kite-critest/pause:1"
)

const imagePath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Sources are what the images are built from besides busybox-static.
type Sources struct {
	NginxDeb   string // Debian's nginx package (DebianPackage finds or fetches it)
	BusyboxDeb string // Debian's (dynamic) busybox package
	NNP        string // the nnp program, built static (BuildNNP)
}

// Images are the images critest needs, built from busybox-static, Debian's
// busybox and nginx and nnp, doing what critest checks of the originals:
// the busybox applets, ipcs, pgrep and passwd of the busybox image; nginx (a real one: the specs
// look for its "master process" command line and its pid file) serving on
// 80, or 12003 for the host-network one; an httpd that says "httpd" in its
// log; a set-user-ID program printing its effective uid; a user 1000 whose
// group 50000 is defined in the image.
func Images(src Sources) []containerdtest.Image {
	busybox := containerdtest.PopulateBusybox
	env := []string{"--config.env", imagePath}
	return []containerdtest.Image{
		{Ref: BusyboxImage, Populate: populateBusybox(src.BusyboxDeb), Config: append([]string{"--config.cmd", "sh"}, env...)},
		{Ref: PauseImage, Populate: busybox, Config: append([]string{"--config.cmd", "sh", "--config.cmd", "-c",
			"--config.cmd", `trap "exit 0" TERM INT; while :; do sleep 1000000 & wait; done`}, env...)},
		{Ref: NginxImage, Populate: populateNginx(src.NginxDeb, 80),
			Config: append([]string{"--config.cmd", "nginx", "--config.cmd", "-g", "--config.cmd", "daemon off;", "--config.exposedports", "80/tcp"}, env...)},
		{Ref: HostNetNginxImage, Populate: populateNginx(src.NginxDeb, 12003),
			Config: append([]string{"--config.cmd", "nginx", "--config.cmd", "-g", "--config.cmd", "daemon off;", "--config.exposedports", "12003/tcp"}, env...)},
		{Ref: HttpdImage, Populate: populateHttpd, Config: append([]string{"--config.cmd", "httpd-foreground", "--config.exposedports", "80/tcp"}, env...)},
		{Ref: NoNewPrivsImage, Populate: populateNNP(src.NNP), Config: append([]string{"--config.entrypoint", "/usr/local/bin/nnp"}, env...)},
		{Ref: GroupImage, Populate: populateGroup, Config: append([]string{"--config.cmd", "sh", "--config.user", "1000"}, env...)},
	}
}

// DebianPackage returns Debian's package pkg in cache, downloading it
// there (apt-get download: nothing is installed on the host) the first time.
func DebianPackage(ctx context.Context, cache, pkg string) (string, error) {
	find := func() string {
		m, _ := filepath.Glob(filepath.Join(cache, pkg+"_*.deb"))
		if len(m) == 0 {
			return ""
		}
		return m[len(m)-1]
	}
	if deb := find(); deb != "" {
		return deb, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", err
	}
	download := func() ([]byte, error) {
		cmd := exec.CommandContext(ctx, "apt-get", "download", pkg)
		cmd.Dir = cache
		return cmd.CombinedOutput()
	}
	if _, err := download(); err != nil { // the package lists may be missing on a fresh machine
		if out, err := exec.CommandContext(ctx, "apt-get", "update", "-qq").CombinedOutput(); err != nil {
			return "", fmt.Errorf("apt-get update: %w: %s", err, out)
		}
		if out, err := download(); err != nil {
			return "", fmt.Errorf("apt-get download %s: %w: %s", pkg, err, out)
		}
	}
	if deb := find(); deb != "" {
		return deb, nil
	}
	return "", fmt.Errorf("apt-get download %s left no %s_*.deb in %s", pkg, pkg, cache)
}

// extractDeb unpacks a Debian package into a new temporary directory, which
// the caller removes.
func extractDeb(deb string) (string, error) {
	x, err := os.MkdirTemp("", "critest-deb")
	if err != nil {
		return "", err
	}
	if out, err := exec.Command("dpkg-deb", "-x", deb, x).CombinedOutput(); err != nil {
		os.RemoveAll(x)
		return "", fmt.Errorf("dpkg-deb -x %s: %w: %s", deb, err, out)
	}
	return x, nil
}

// BuildNNP builds the nnp program, static, into dir.
func BuildNNP(ctx context.Context, dir string) (string, error) {
	out := filepath.Join(dir, "nnp")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "github.com/kite-vm/kite/internal/testing/critest/nnp")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building nnp: %w: %s", err, b)
	}
	return out, nil
}

// nginxConf runs nginx in the foreground (the image's command adds
// "daemon off;"), logging to the container's output, its pid where
// critest's HostPID spec reads it.
const nginxConf = `user nobody nogroup;
worker_processes 1;
pid /var/run/nginx.pid;
error_log stderr notice;
events { worker_connections 64; }
http {
  access_log /dev/stdout;
  types { text/html html; }
  server {
    listen %d;
    location / { root /usr/share/nginx/html; index index.html; }
  }
}
`

func populateNginx(deb string, port int) func(string) error {
	return func(rootfs string) error {
		if err := containerdtest.PopulateBusybox(rootfs); err != nil {
			return err
		}
		x, err := extractDeb(deb)
		if err != nil {
			return err
		}
		defer os.RemoveAll(x)
		bin := filepath.Join(x, "usr/sbin/nginx")
		if err := copyFile(bin, filepath.Join(rootfs, "usr/sbin/nginx"), 0o755); err != nil {
			return err
		}
		if err := copyLibraries(bin, rootfs); err != nil {
			return err
		}
		for _, d := range []string{"var/log/nginx", "var/lib/nginx", "var/cache/nginx", "usr/share/nginx/html", "etc/nginx"} {
			if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
				return err
			}
		}
		if err := os.WriteFile(filepath.Join(rootfs, "etc/nginx/nginx.conf"), fmt.Appendf(nil, nginxConf, port), 0o644); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(rootfs, "usr/share/nginx/html/index.html"), []byte("<h1>Welcome to nginx!</h1>\n"), 0o644)
	}
}

// copyLibraries copies the shared libraries bin needs (as the host's ldd
// resolves them) into rootfs, at the same paths.
func copyLibraries(bin, rootfs string) error {
	out, err := exec.Command("ldd", bin).Output()
	if err != nil {
		return fmt.Errorf("ldd %s: %w", bin, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		var lib string
		switch {
		case len(f) >= 3 && f[1] == "=>" && f[2] == "not":
			return fmt.Errorf("%s needs %s, which the host lacks (install the Debian package that has it)", bin, f[0])
		case len(f) >= 3 && f[1] == "=>" && strings.HasPrefix(f[2], "/"):
			lib = f[2]
		case len(f) >= 1 && strings.HasPrefix(f[0], "/"):
			lib = f[0] // the dynamic loader
		default:
			continue // linux-vdso
		}
		if err := copyFile(lib, filepath.Join(rootfs, lib), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// hostTools are the programs critest runs in its busybox image that
// Debian's busybox lacks as applets (the image's busybox has them): ipcs
// (util-linux) for the IPC namespace specs, pgrep (procps) for the exec
// timeout spec. They are copied from the host with their libraries.
var hostTools = []string{"/usr/bin/ipcs", "/usr/bin/pgrep"}

// populateBusybox builds critest's busybox image from Debian's dynamic
// busybox, not busybox-static: the static one's shell runs its applets
// without exec'ing /bin/<applet>, so a masked path (/bin/ls, the
// MaskedPaths spec) would not be masked to it, where the busybox image's
// shell (and the dynamic one's) gets "Permission denied".
func populateBusybox(deb string) func(string) error {
	return func(rootfs string) error {
		x, err := extractDeb(deb)
		if err != nil {
			return err
		}
		defer os.RemoveAll(x)
		bin := filepath.Join(x, "bin/busybox")
		if err := containerdtest.PopulateBusyboxFrom(rootfs, bin); err != nil {
			return err
		}
		if err := copyLibraries(bin, rootfs); err != nil {
			return err
		}
		for _, tool := range hostTools {
			if err := copyFile(tool, filepath.Join(rootfs, tool), 0o755); err != nil {
				return fmt.Errorf("%w (util-linux, procps)", err)
			}
			if err := copyLibraries(tool, rootfs); err != nil {
				return err
			}
		}
		return nil
	}
}

func populateHttpd(rootfs string) error {
	if err := containerdtest.PopulateBusybox(rootfs); err != nil {
		return err
	}
	docs := filepath.Join(rootfs, "usr/local/apache2/htdocs")
	if err := os.MkdirAll(docs, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(docs, "index.html"), []byte("<html><body><h1>It works!</h1></body></html>\n"), 0o644); err != nil {
		return err
	}
	script := "#!/bin/sh\necho \"httpd: serving /usr/local/apache2/htdocs on port 80\" >&2\nexec httpd -f -v -p 80 -h /usr/local/apache2/htdocs\n"
	return writeExecutable(filepath.Join(rootfs, "usr/local/bin/httpd-foreground"), script)
}

func populateNNP(nnp string) func(string) error {
	return func(rootfs string) error {
		if err := containerdtest.PopulateBusybox(rootfs); err != nil {
			return err
		}
		dst := filepath.Join(rootfs, "usr/local/bin/nnp")
		if err := copyFile(nnp, dst, 0o755); err != nil {
			return err
		}
		return os.Chmod(dst, 0o755|os.ModeSetuid) // set-user-ID root: what the spec checks
	}
}

func populateGroup(rootfs string) error {
	if err := containerdtest.PopulateBusybox(rootfs); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(rootfs, "home/default-user"), 0o755); err != nil {
		return err
	}
	for name, line := range map[string]string{
		"etc/passwd": "default-user:x:1000:1000::/home/default-user:/bin/sh\n",
		"etc/group":  "default-user:x:1000:\ngroup-defined-in-image:x:50000:default-user\n",
	} {
		f, err := os.OpenFile(filepath.Join(rootfs, name), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		_, err = f.WriteString(line)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return os.Chown(filepath.Join(rootfs, "home/default-user"), 1000, 1000)
}

func writeExecutable(path, text string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(text), 0o755)
}

func copyFile(src, dst string, mode os.FileMode) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, data, mode)
}
