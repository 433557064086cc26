package nvdimm

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ErrInvalidOptions means ImageOptions cannot produce an image.
var ErrInvalidOptions = errors.New("invalid NVDIMM image options")

// ImageOptions say what BuildImage builds.
type ImageOptions struct {
	SourceDir string // copied into the file system's root, owned by root
	Out       string // the image file, replaced atomically
	// SizeBytes is the file system size, a multiple of Align; 0 fits the
	// source with 20% to spare. The image is PrefixSize bigger.
	SizeBytes int64
	Label     string   // ext4 volume label, at most 16 bytes
	UUID      [16]byte // file system UUID; zero picks a random one
	// Journal keeps an ext4 journal (16 MiB). Read-only DAX volumes are
	// mounted with noload and do not need one.
	Journal bool
	// Mkfs is the mkfs.ext4 binary; empty looks in PATH, /sbin, /usr/sbin.
	Mkfs string
}

const (
	journalMiB = 16
	inodeSize  = 256
	// slack covers the superblock, group descriptors, bitmaps and the
	// reserved blocks of a small file system.
	slack = 8 << 20
)

// fakeTime pins the time stamps mke2fs writes itself (superblock, root and
// lost+found) so the same source and options give the same bytes, as long as
// the source's own metadata is unchanged: -d copies its atimes and ctimes.
const fakeTime = "E2FSPROGS_FAKE_TIME=1"

// BuildImage builds an ext4 file system from o.SourceDir and writes it,
// prefixed with the PFN info block, to o.Out (temp file + rename).
func BuildImage(ctx context.Context, o ImageOptions) error {
	if err := o.validate(); err != nil {
		return err
	}
	mkfs, err := mkfsPath(o.Mkfs)
	if err != nil {
		return err
	}
	u := o.UUID
	if u == ([16]byte{}) {
		if _, err := rand.Read(u[:]); err != nil {
			return fmt.Errorf("picking a file system uuid: %w", err)
		}
		u[6], u[8] = u[6]&0x0f|0x40, u[8]&0x3f|0x80
	}
	size := o.SizeBytes
	inodes, used, err := measure(o.SourceDir)
	if err != nil {
		return err
	}
	if size == 0 {
		size = fitSize(used, inodes, o.Journal)
	}
	tmp, err := os.CreateTemp(filepath.Dir(o.Out), "."+filepath.Base(o.Out)+".tmp-*")
	if err != nil {
		return fmt.Errorf("creating the image next to %q: %w", o.Out, err)
	}
	name := tmp.Name()
	defer os.Remove(name) // a no-op once renamed
	defer tmp.Close()
	args := mkfsArgs(o, u, size, inodes, name)
	cmd := exec.CommandContext(ctx, mkfs, args...)
	cmd.Env = append(os.Environ(), fakeTime)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building ext4 from %q (%s %s): %w: %s", o.SourceDir, mkfs, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	if err := finish(tmp, PFNInfo{UUID: pfnUUID(u), DataSize: size}); err != nil {
		return fmt.Errorf("writing image %q: %w", o.Out, err)
	}
	if err := os.Rename(name, o.Out); err != nil {
		return fmt.Errorf("writing image %q: %w", o.Out, err)
	}
	return nil
}

func (o ImageOptions) validate() error {
	switch {
	case o.SourceDir == "" || o.Out == "":
		return fmt.Errorf("%w: SourceDir and Out are required", ErrInvalidOptions)
	case o.SizeBytes < 0 || o.SizeBytes%Align != 0:
		return fmt.Errorf("%w: size %d is not a multiple of %d", ErrInvalidOptions, o.SizeBytes, Align)
	case len(o.Label) > 16:
		return fmt.Errorf("%w: label %q is longer than 16 bytes", ErrInvalidOptions, o.Label)
	}
	if fi, err := os.Stat(o.SourceDir); err != nil || !fi.IsDir() {
		return fmt.Errorf("%w: source %q is not a directory (%v)", ErrInvalidOptions, o.SourceDir, err)
	}
	return nil
}

func mkfsPath(p string) (string, error) {
	if p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("mkfs.ext4"); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/sbin", "/usr/sbin"} {
		if p := filepath.Join(dir, "mkfs.ext4"); fileExists(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("mkfs.ext4 not found (install e2fsprogs): %w", exec.ErrNotFound)
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// measure counts the entries under dir and the blocks their data takes.
func measure(dir string) (entries, used int64, err error) {
	err = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		entries++
		used += pageSize
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			used += (fi.Size() + pageSize - 1) / pageSize * pageSize
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("measuring %q: %w", dir, err)
	}
	return entries, used, nil
}

// fitSize is the data plus 20%, the inode tables, the journal and fixed
// metadata, rounded up to Align.
func fitSize(used, inodes int64, journal bool) int64 {
	size := used + used/5 + inodeCount(inodes)*inodeSize + slack
	if journal {
		size += journalMiB << 20
	}
	return (size + Align - 1) / Align * Align
}

// inodeCount leaves room for lost+found and the reserved inodes; mke2fs's
// default ratio (one per 16 KiB) runs short on trees of small files.
func inodeCount(entries int64) int64 { return entries + entries/5 + 64 }

func mkfsArgs(o ImageOptions, u [16]byte, size, entries int64, out string) []string {
	id := formatUUID(u)
	features := "^has_journal"
	if o.Journal {
		features = "has_journal"
	}
	args := []string{"-q", "-F", "-t", "ext4", "-T", "default", "-b", "4096", "-I", fmt.Sprint(inodeSize),
		"-N", fmt.Sprint(inodeCount(entries)), "-m", "0", "-O", features, "-U", id,
		"-E", fmt.Sprintf("root_owner=0:0,offset=%d,hash_seed=%s", PrefixSize, id)}
	if o.Journal {
		args = append(args, "-J", fmt.Sprintf("size=%d", journalMiB))
	}
	if o.Label != "" {
		args = append(args, "-L", o.Label)
	}
	return append(args, "-d", o.SourceDir, out, fmt.Sprint(size/pageSize))
}

// finish adds the info block to the file mke2fs wrote at offset PrefixSize
// and makes it durable.
func finish(f *os.File, p PFNInfo) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if want := PrefixSize + p.DataSize; fi.Size() != want {
		return fmt.Errorf("mkfs.ext4 left %d bytes, want %d", fi.Size(), want)
	}
	if err := WritePFNInfo(f, p); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	return f.Sync()
}

// pfnUUID derives the PFN device's UUID from the file system's, so an image
// is a function of its options.
func pfnUUID(fsUUID [16]byte) [16]byte {
	sum := sha256.Sum256(append([]byte("kite nvdimm pfn "), fsUUID[:]...))
	var u [16]byte
	copy(u[:], sum[:])
	u[6], u[8] = u[6]&0x0f|0x50, u[8]&0x3f|0x80
	return u
}

func formatUUID(u [16]byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
