package hostcheck

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"
)

var qemuVersionRE = regexp.MustCompile(`version (\d+\.\d+(\.\d+)?)`)

// binaryVersion runs "path --version" and returns its first line's version.
func binaryVersion(ctx context.Context, path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if st.IsDir() || st.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("%s is not an executable file", path)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--version").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w: %s", path, err, strings.TrimSpace(string(out)))
	}
	if m := qemuVersionRE.FindStringSubmatch(string(out)); m != nil {
		return m[1], nil
	}
	return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0]), nil
}

func probeQEMU(ctx context.Context, o Options) Result {
	r := Result{Name: "qemu", Required: true}
	v, err := binaryVersion(ctx, o.QEMUPath)
	if err != nil {
		r.Status, r.Detail = Fail, err.Error()
		r.Hint = "apt-get install qemu-system-x86 (or make setup), or set hypervisor.path"
		return r
	}
	r.Status, r.Detail = OK, fmt.Sprintf("%s (version %s)", o.QEMUPath, v)
	return r
}

func probeVirtiofsd(ctx context.Context, o Options) Result {
	r := Result{Name: "virtiofsd", Required: o.NeedVirtiofsd}
	v, err := binaryVersion(ctx, o.VirtiofsdPath)
	if err != nil {
		r.Status, r.Detail = Warn, err.Error()
		if o.NeedVirtiofsd {
			r.Status = Fail
		}
		r.Hint = "apt-get install qemu-system-common (or make setup), or set shared_fs.driver = \"virtio-9p\""
		return r
	}
	r.Status, r.Detail = OK, fmt.Sprintf("%s (%s)", o.VirtiofsdPath, v)
	return r
}

func probeGuest(_ context.Context, o Options) Result {
	r := Result{Name: "guest image", Required: true}
	var missing []string
	for _, f := range []string{o.KernelPath, o.InitrdPath} {
		if _, err := os.Stat(f); err != nil {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		r.Status = Fail
		r.Detail = "missing " + strings.Join(missing, ", ")
		r.Hint = "run: kite guest build (or make guest)"
		return r
	}
	r.Status, r.Detail = OK, o.KernelPath+", "+o.InitrdPath
	return r
}
