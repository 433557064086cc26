package containerdtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Image is an image built locally: its reference, what its root file system
// holds and its configuration.
type Image struct {
	// Ref is the full reference the image is imported as:
	// "registry.k8s.io/e2e-test-images/busybox:1.29-2".
	Ref string
	// Populate fills the (empty) root file system.
	Populate func(rootfs string) error
	// Config is umoci config's flags: "--config.cmd", "/bin/sh", ...
	Config []string
}

// SplitRef splits a reference into the name ctr imports under (--base-name)
// and the tag ("latest" when it has none). Digests are refused: an image
// built here cannot have a digest a test names beforehand.
func SplitRef(ref string) (name, tag string, err error) {
	if strings.Contains(ref, "@") {
		return "", "", fmt.Errorf("image %q: a digest reference cannot be built locally", ref)
	}
	slash := strings.LastIndex(ref, "/")
	if colon := strings.LastIndex(ref, ":"); colon > slash {
		name, tag = ref[:colon], ref[colon+1:]
	} else {
		name, tag = ref, "latest"
	}
	if name == "" || tag == "" || slash <= 0 {
		return "", "", fmt.Errorf("image %q: want registry/path[:tag]", ref)
	}
	return name, tag, nil
}

// BuildImage builds img with umoci into an OCI layout under work (a fresh
// directory of its own) and returns the path of the layout as a tar archive.
func BuildImage(ctx context.Context, work string, img Image) (string, error) {
	_, tag, err := SplitRef(img.Ref)
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp(work, "image-")
	if err != nil {
		return "", err
	}
	layout, bundle := filepath.Join(dir, "oci"), filepath.Join(dir, "bundle")
	ref := layout + ":" + tag
	if err := run(ctx, [][]string{
		{"umoci", "init", "--layout", layout},
		{"umoci", "new", "--image", ref},
		{"umoci", "unpack", "--image", ref, bundle},
	}); err != nil {
		return "", fmt.Errorf("image %s: %w", img.Ref, err)
	}
	if err := img.Populate(filepath.Join(bundle, "rootfs")); err != nil {
		return "", fmt.Errorf("image %s: populating its root file system: %w", img.Ref, err)
	}
	steps := [][]string{{"umoci", "repack", "--image", ref, bundle}}
	if len(img.Config) > 0 {
		steps = append(steps, append([]string{"umoci", "config", "--image", ref}, img.Config...))
	}
	archive := filepath.Join(dir, "image.tar")
	steps = append(steps, []string{"tar", "-C", layout, "-cf", archive, "."})
	if err := run(ctx, steps); err != nil {
		return "", fmt.Errorf("image %s: %w", img.Ref, err)
	}
	return archive, os.RemoveAll(bundle)
}

// Import imports an image archive from BuildImage into namespace ns as ref.
func (c *Containerd) Import(ctx context.Context, ns, archive, ref string) error {
	name, _, err := SplitRef(ref)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if out, err := c.Ctr(ctx, ns, "images", "import", "--base-name", name, archive).CombinedOutput(); err != nil {
		return fmt.Errorf("importing %s into containerd %s: %w: %s", ref, c.Release.Version, err, out)
	}
	return nil
}

func run(ctx context.Context, steps [][]string) error {
	for _, s := range steps {
		if out, err := exec.CommandContext(ctx, s[0], s[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %w: %s", strings.Join(s, " "), err, out)
		}
	}
	return nil
}
