package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/kite-vm/kite/fsshare/nvdimm"
	"github.com/kite-vm/kite/oci/control"
)

// runVolume dispatches `kite volume add|rm|ls`.
func runVolume(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "add":
			return runVolumeAdd(ctx, e, args[1:])
		case "rm":
			return runVolumeRm(ctx, e, args[1:])
		case "ls":
			return runVolumeLs(ctx, e, args[1:])
		case "build-dax":
			return runVolumeBuildDAX(ctx, e, args[1:])
		}
	}
	return fmt.Errorf("%w: want 'kite volume add ID NAME SOURCE', 'kite volume rm ID NAME', 'kite volume ls ID' or 'kite volume build-dax DIR IMAGE'", errUsage)
}

// runVolumeBuildDAX builds a read-only DAX data image from a directory:
// ext4 behind the NVDIMM PFN-info header, for an OCI mount
// {"type": "ext4", "source": IMAGE, "options": ["ro", "dax"]}.
func runVolumeBuildDAX(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "volume build-dax", "[--label L] DIR IMAGE")
	label := fs.String("label", "", "ext4 volume label (at most 16 bytes)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return fmt.Errorf("%w: want a source directory and an image path, got %d arguments", errUsage, fs.NArg())
	}
	start := time.Now()
	if err := nvdimm.BuildImage(ctx, nvdimm.ImageOptions{SourceDir: fs.Arg(0), Out: fs.Arg(1), Label: *label}); err != nil {
		return err
	}
	img, err := nvdimm.CheckImage(fs.Arg(1))
	if err != nil {
		return err
	}
	fmt.Fprintf(e.io.Out, "%s: %d MiB DAX image of %s (%s); mount it with type ext4 and options ro,dax\n",
		img.Path, img.Size>>20, fs.Arg(0), ms(time.Since(start)))
	return nil
}

func runVolumeAdd(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "volume add", "[--kind blk|virtio-fs|9p] [--ro] [--fstype T] [--json] ID NAME SOURCE")
	kind := fs.String("kind", "", "blk, virtio-fs or 9p (default: blk for an image file or block device, shared_fs.driver for a directory)")
	ro := fs.Bool("ro", false, "read-only, in QEMU and in the guest")
	fstype := fs.String("fstype", "", "file system of a blk volume (default: detected)")
	asJSON := fs.Bool("json", false, "print the volume as JSON")
	cl, pos, err := sandboxCommand(ctx, e, fs, args, "a volume name", "a source")
	if err != nil {
		return err
	}
	id, name := pos[0], pos[1]
	source, err := filepath.Abs(pos[2])
	if err != nil {
		return err
	}
	if *kind == "" {
		if *kind, err = defaultVolumeKind(e, source); err != nil {
			return err
		}
	}
	v, err := cl.AddVolume(ctx, control.AddVolumeRequest{Name: name, Kind: *kind, Source: source, ReadOnly: *ro, FSType: *fstype})
	if err != nil {
		return fmt.Errorf("adding volume %s to container %q: %w", name, id, err)
	}
	if *asJSON {
		return printJSON(e, v)
	}
	fmt.Fprintf(e.io.Out, "%s (%s) mounted in the guest at %s: device_add %s, mounted %s\n",
		v.Name, v.Kind, v.GuestPath, ms(v.Hotplug.QMP), ms(v.Hotplug.Configured))
	return nil
}

// defaultVolumeKind is blk for a file or device, the configured share
// driver for a directory.
func defaultVolumeKind(e *env, source string) (string, error) {
	st, err := os.Stat(source)
	if err != nil {
		return "", fmt.Errorf("volume source: %w", err)
	}
	if !st.IsDir() {
		return "blk", nil
	}
	cfg, err := e.config()
	if err != nil {
		return "", err
	}
	return string(cfg.SharedFS.Driver), nil
}

func runVolumeRm(ctx context.Context, e *env, args []string) error {
	cl, pos, err := sandboxCommand(ctx, e, newFlags(e, "volume rm", "ID NAME"), args, "a volume name")
	if err != nil {
		return err
	}
	if err := cl.RemoveVolume(ctx, pos[1]); err != nil {
		return fmt.Errorf("removing volume %s from container %q: %w", pos[1], pos[0], err)
	}
	return nil
}

func runVolumeLs(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "volume ls", "[--json] ID")
	asJSON := fs.Bool("json", false, "print the volumes as JSON")
	cl, _, err := sandboxCommand(ctx, e, fs, args)
	if err != nil {
		return err
	}
	vols, err := cl.Volumes(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e, vols)
	}
	tw := tabwriter.NewWriter(e.io.Out, 8, 1, 3, ' ', 0)
	fmt.Fprint(tw, "NAME\tKIND\tMODE\tSOURCE\tGUEST PATH\n")
	for _, v := range vols {
		mode := "rw"
		if v.ReadOnly {
			mode = "ro"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", v.Name, v.Kind, mode, v.Source, v.GuestPath)
	}
	return tw.Flush()
}
