package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/fsshare"
	"github.com/kite-vm/kite/vm"
	"github.com/kite-vm/kite/vm/attach"
)

// storage measures file access in the guest through each storage backend:
// a sequential read of one big file (guest page cache dropped first) and
// the creation, stat and removal of many small files, timed inside the
// guest by the workload's shell. The baseline is the guest's own tmpfs: the
// speed of the emulated guest itself, with no device in the way.
type storage struct{}

const tmpfsVariant = "guest tmpfs"

func (storage) Name() string     { return "storage" }
func (storage) Title() string    { return "Storage in the guest" }
func (storage) Baseline() string { return tmpfsVariant }

type storageTrial struct {
	dir      string
	m        *vm.Machine
	ctr      *sleeper
	size     int64 // bytes of the big file
	files    int   // small files per metadata run
	variants []storageVariant
}

// storageVariant is where the workload runs in the container.
type storageVariant struct{ name, dir string }

func (storage) Setup(ctx context.Context, env Env) (_ Trial, err error) {
	if err := firstErr(requireRoot(), requireGuest(env.Config), requireVirtiofsd(env.Config)); err != nil {
		return nil, err
	}
	t := &storageTrial{size: 256 << 20, files: 1000}
	if env.Quick {
		t.size, t.files = 16<<20, 200
	}
	if t.dir, err = os.MkdirTemp(env.WorkDir, "st"); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, t.Close(ctx))
		}
	}()
	rfs, data := filepath.Join(t.dir, "rootfs"), filepath.Join(t.dir, "data")
	if err := firstErr(makeRootfs(ctx, rfs), os.Mkdir(data, 0o755)); err != nil {
		return nil, err
	}
	if err := writeDataFile(filepath.Join(data, bigFile), t.size); err != nil {
		return nil, err
	}
	// The NVDIMM image gets as many inodes as the tree has entries: the
	// small files the metadata runs create are there to be counted (each run
	// removes them first).
	if err := placeholders(filepath.Join(data, "meta"), t.files); err != nil {
		return nil, err
	}
	cfg := benchConfig(env.Config)
	cfg.SharedFS.Driver, cfg.SharedFS.Cache = configs.FSVirtioFS, configs.FSCacheAuto
	vmDir := filepath.Join(t.dir, "s")
	root, err := rootShare(cfg, vmDir, rfs)
	if err != nil {
		return nil, err
	}
	devs, err := storageDevices(ctx, cfg, vmDir, data, t.dir, t.size)
	if err != nil {
		return nil, err
	}
	plan, err := planVM(cfg, env.host(), vmDir, 0, devs.topo, append([]attach.Attachment{root}, devs.attachments...)...)
	if err != nil {
		return nil, err
	}
	if t.m, err = vm.Boot(ctx, plan); err != nil {
		return nil, err
	}
	return t, t.mount(ctx, plan.ID, root, devs.backends)
}

// mount creates the sandbox on the root file system share, mounts every
// backend, starts the container with each bind-mounted under /mnt, and
// copies the big file into the container's tmpfs.
func (t *storageTrial) mount(ctx context.Context, id string, root *fsshare.Share, backends []storageBackend) error {
	a := t.m.Agent()
	if err := createSandbox(ctx, a, id, []*protocol.Storage{root.Storage(rootfsStorageID, "")}); err != nil {
		return err
	}
	var mounts []*protocol.Mount
	for _, b := range backends {
		mp, err := a.AddStorage(ctx, b.storage)
		if err != nil {
			return fmt.Errorf("mounting %s in the guest: %w", b.variant, err)
		}
		dst := "/mnt/" + b.storage.Id
		mounts = append(mounts, &protocol.Mount{Destination: dst, Type: "bind", Source: mp, Options: []string{"rbind"}})
		t.variants = append(t.variants, storageVariant{b.variant, dst})
	}
	t.variants = append(t.variants, storageVariant{tmpfsVariant, "/tmp"})
	var err error
	if t.ctr, err = startSleeper(ctx, a, mounts); err != nil {
		return err
	}
	_, err = t.ctr.run(ctx, "cp /mnt/p9big/"+bigFile+" /tmp/"+bigFile)
	return err
}

func (t *storageTrial) Notes() []string {
	return []string{fmt.Sprintf("sequential read of a %d MiB file with dd bs=1M after dropping the guest page cache; create + stat (ls -l) + remove of %d empty files", t.size>>20, t.files)}
}

func (t *storageTrial) Close(ctx context.Context) error {
	var errs []error
	if t.m != nil {
		errs = append(errs, stopMachine(ctx, t.m))
	}
	return errors.Join(append(errs, os.RemoveAll(t.dir))...)
}

func (t *storageTrial) Repeat(ctx context.Context, rec *Recorder) error {
	n := len(t.variants)
	for i := range n {
		v := t.variants[(i+max(rec.Repeat, 0))%n] // rotate the order each repeat
		if err := t.seqRead(ctx, rec, v); err != nil {
			return fmt.Errorf("%s: %w", v.name, err)
		}
		if err := t.smallFiles(ctx, rec, v); err != nil {
			return fmt.Errorf("%s: %w", v.name, err)
		}
	}
	return nil
}

func (t *storageTrial) seqRead(ctx context.Context, rec *Recorder, v storageVariant) error {
	out, err := t.ctr.run(ctx, timeScript("sync; echo 3 > /proc/sys/vm/drop_caches",
		"dd if="+v.dir+"/"+bigFile+" of=/dev/null bs=1M 2>/dev/null"))
	if err != nil {
		return err
	}
	d, err := parseMicros(out)
	if err != nil || d <= 0 {
		return fmt.Errorf("sequential read: bad timing %q: %v", out, err)
	}
	rec.Add("sequential read", v.name, MiBps, float64(t.size)/(1<<20)/d.Seconds())
	return nil
}

func (t *storageTrial) smallFiles(ctx context.Context, rec *Recorder, v storageVariant) error {
	dir := v.dir + "/meta"
	out, err := t.ctr.run(ctx, timeScript("rm -rf "+dir+"; mkdir -p "+dir+" && cd "+dir,
		fmt.Sprintf("i=0; while [ $i -lt %d ]; do : > f$i; i=$((i+1)); done; ls -l >/dev/null; rm -f f*", t.files)))
	if err != nil {
		return err
	}
	d, err := parseMicros(out)
	if err != nil {
		return err
	}
	rec.Add(fmt.Sprintf("%d small files", t.files), v.name, Millis, ms(d))
	return nil
}

// placeholders creates n empty files f0..f<n-1> in dir.
func placeholders(dir string, n int) error {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	for i := range n {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d", i)), nil, 0o644); err != nil {
			return err
		}
	}
	return nil
}
