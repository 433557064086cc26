package sandbox

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/atomicfile"
	"github.com/kite-vm/kite/vm"
)

// ErrStaleTemplate: a VM template was made from another configuration,
// guest or QEMU than the VM asked of it; it is refused (and rebuilt by
// EnsureTemplate). It comes with ErrFailedPrecondition.
var ErrStaleTemplate = errors.New("the VM template was made from another configuration, guest or QEMU")

// templateFormat is the version of a template directory's layout and of
// what its identity holds.
const templateFormat = 1

// Files of a template directory besides the VM's (vm.Template).
const (
	templateManifestName = "template.json"
	templateLockSuffix   = ".lock"
)

// templateIdentity is what a template is made from, all of which a clone
// must match: the command line a template and its clones share
// (vm.Plan.CloneKey), and QEMU, the guest kernel and the initrd as they are
// on disk. Its digest names the template's directory.
type templateIdentity struct {
	Format int         `json:"format"`
	Key    []string    `json:"key"`
	Files  []fileStamp `json:"files"`
}

// fileStamp is a file as it is on disk: replaced in place, it changes.
type fileStamp struct {
	Path    string `json:"path"`
	Size    int64  `json:"size"`
	ModTime int64  `json:"modTime"` // ns since the epoch
}

func stamp(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{Path: path, Size: fi.Size(), ModTime: fi.ModTime().UnixNano()}, nil
}

// digest names the template directory of the identity.
func (id templateIdentity) digest() string {
	data, _ := json.Marshal(id)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}

// diff says how id differs from want, "" when it does not.
func (id templateIdentity) diff(want templateIdentity) string {
	if id.Format != want.Format {
		return fmt.Sprintf("format %d, this Kite makes %d", id.Format, want.Format)
	}
	if i := firstDiff(id.Key, want.Key); i >= 0 {
		opt := ""
		if i > 0 && i-1 < min(len(id.Key), len(want.Key)) && strings.HasPrefix(id.Key[i-1], "-") && id.Key[i-1] == want.Key[i-1] {
			opt = id.Key[i-1] + " "
		}
		return "QEMU argument " + opt + at(id.Key, i) + ", this configuration has " + opt + at(want.Key, i)
	}
	if !slices.Equal(id.Files, want.Files) {
		return fmt.Sprintf("made from %v, the files are now %v", id.Files, want.Files)
	}
	return ""
}

// identify is the identity of the template that c (a template's
// configuration) makes, planned in a throwaway directory of root.
func identify(cfg Config, f facts, root string) (templateIdentity, error) {
	cfg.ID, cfg.Dir = "template", filepath.Join(root, "template")
	cfg.tpl = &vm.Template{Dir: cfg.Dir, GenID: newGenID()}
	l, err := planSandbox(cfg, f)
	if err != nil {
		return templateIdentity{}, err
	}
	key, err := l.vm.CloneKey()
	if err != nil {
		return templateIdentity{}, err
	}
	id := templateIdentity{Format: templateFormat, Key: key}
	c := cfg.Config
	for _, p := range []string{c.Hypervisor.Path, c.Guest.KernelPath(), c.Guest.InitrdPath()} {
		st, err := stamp(p)
		if err != nil {
			return templateIdentity{}, fmt.Errorf("%w: %w", vm.ErrHost, err)
		}
		id.Files = append(id.Files, st)
	}
	return id, nil
}

// templateManifest is template.json: what the template is, written last,
// once it is complete.
type templateManifest struct {
	Identity  templateIdentity `json:"identity"`
	Created   time.Time        `json:"created"`
	MemoryMiB int              `json:"memoryMiB"`
	// Boot is how long the template's VM took to boot to a ready agent.
	Boot time.Duration `json:"boot"`
	Save vm.SaveInfo   `json:"save"`
}

func readManifest(dir string) (templateManifest, error) {
	var m templateManifest
	data, err := os.ReadFile(filepath.Join(dir, templateManifestName))
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("reading %s: %w", filepath.Join(dir, templateManifestName), err)
	}
	return m, nil
}

func writeManifest(dir string, m templateManifest) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(dir, templateManifestName), 0o600, data)
}

// newGenID is a fresh VM generation id: a random (version 4) UUID.
func newGenID() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails (crypto/rand)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// templateConfig is what a template and its clones run of c, which the
// warm VM's shape: the shared directory over 9p (QEMU 7.2 cannot save a VM
// with vhost-user-fs, and virtiofsd cannot map a clone's private RAM), the
// agent on virtio-serial (a clone's agent takes its host's connection as
// a new one), no free page reporting (QEMU 7.2 returns a private file
// mapping's freed pages by punching holes in the file: the template's RAM
// file, under every clone).
func templateConfig(c *configs.Config) *configs.Config {
	out := c.Clone()
	out.SharedFS.Driver = configs.FSVirtio9P
	out.Agent.Transport = configs.TransportVirtioSerial
	out.Hypervisor.FreePageReporting = false
	return out
}

// shaped is c as the sandbox's VM runs it: a template's configuration for
// a template's VM or clone, c itself otherwise.
func (cfg Config) shaped(c *configs.Config) *configs.Config {
	if cfg.tpl == nil {
		return c
	}
	return templateConfig(c)
}
