package benchmarks

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/mountinfo"
)

// peerDialTimeout is the agent's dial timeout in the peer benchmarks'
// Kite configurations: 16 guests booting at once under TCG on two cores
// take minutes.
const peerDialTimeout = 10 * time.Minute

// peers makes every peer that can run here, each with a state root in dir
// and its log in dir/cli.log: Kite cold, pooled and templated, runc, crun,
// runsc. What cannot run is said in the notes, with the fix.
func peers(env Env, dir string) ([]*peer, []string, error) {
	log := filepath.Join(dir, "cli.log")
	modes, notes, err := kiteModes(env, dir)
	if err != nil {
		return nil, nil, err
	}
	var ps []*peer
	for _, m := range modes {
		root := filepath.Join(dir, m.root)
		ps = append(ps, &peer{name: m.name, kind: m.kind, root: root,
			cli: ociCLI{bin: env.Kite, global: []string{"--root", root, "--config", m.config}, log: log}})
	}
	oci, ociNotes := ociPeers(dir, log, hybridCgroups("/proc/self/mountinfo"))
	return append(ps, oci...), append(notes, ociNotes...), nil
}

// kiteMode is one way Kite makes a pod, with the configuration file that
// selects it.
type kiteMode struct {
	name, root, config string
	kind               peerKind
}

// kiteModes writes a configuration file per Kite mode into dir: env's
// configuration with the agent given time for bursts; for the pooled
// modes a pool of size 1, which the benchmarks keep from running dry (so
// that no create refills it while measured: peer.fill). The templated
// mode needs the pool.template key: without it the mode is left out with
// a note.
func kiteModes(env Env, dir string) ([]kiteMode, []string, error) {
	base := benchConfig(env.Config).Clone()
	base.Agent.DialTimeout = configs.Duration(max(base.Agent.DialTimeout.Duration(), peerDialTimeout))
	base.Pool = configs.Pool{}
	pooled := base.Clone()
	pooled.Pool.Size, pooled.Pool.RootPorts = 1, env.Config.Pool.RootPorts
	var modes []kiteMode
	var notes []string
	for _, m := range []struct {
		name, root string
		kind       peerKind
		cfg        *configs.Config
		extra      map[string]any
	}{
		{kiteCold, "k", kindKite, base, nil},
		{kitePooled, "kp", kindPool, pooled, nil},
		{kiteTemplated, "kt", kindPool, pooled, map[string]any{"template": true}},
	} {
		path := filepath.Join(dir, m.root+".toml")
		err := writeKiteConfig(path, m.cfg, m.extra)
		if errors.Is(err, configs.ErrUnknownKey) {
			notes = append(notes, fmt.Sprintf("%s: not run: this kite has no pool.template key (VM templates are not built yet)", m.name))
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", m.name, err)
		}
		modes = append(modes, kiteMode{name: m.name, root: m.root, config: path, kind: m.kind})
	}
	return modes, notes, nil
}

// writeKiteConfig writes cfg, with the extra keys of its [pool] section,
// to path, once Kite's own parser takes it.
func writeKiteConfig(path string, cfg *configs.Config, pool map[string]any) error {
	var enc bytes.Buffer
	if err := cfg.EncodeTOML(&enc); err != nil {
		return err
	}
	data := enc.Bytes()
	if len(pool) > 0 {
		var doc map[string]any
		if _, err := toml.Decode(string(data), &doc); err != nil {
			return fmt.Errorf("re-reading the encoded configuration: %w", err)
		}
		section, _ := doc["pool"].(map[string]any)
		if section == nil {
			section = map[string]any{}
			doc["pool"] = section
		}
		for k, v := range pool {
			section[k] = v
		}
		enc.Reset()
		if err := toml.NewEncoder(&enc).Encode(doc); err != nil {
			return err
		}
		data = enc.Bytes()
	}
	if _, err := configs.Parse(path, data); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// ociPeers finds runc, crun and runsc. crun refuses a hybrid cgroup layout
// (v1 controllers with the v2 hierarchy at /sys/fs/cgroup/unified): there
// it runs in a private mount namespace without that mount. runsc runs
// without network (the bundle's network namespace is an empty one for the
// others; runsc needs one made for it otherwise) and on its default
// platform.
func ociPeers(dir, log string, hybrid bool) ([]*peer, []string) {
	var ps []*peer
	var notes []string
	for _, r := range []struct{ name, root string }{{runcVariant, "r"}, {crunVariant, "c"}, {runscVariant, "s"}} {
		bin, err := exec.LookPath(r.name)
		if err != nil {
			notes = append(notes, fmt.Sprintf("%s: not run: not installed (apt-get install %s)", r.name, r.name))
			continue
		}
		root := filepath.Join(dir, r.root)
		p := &peer{name: r.name, kind: kindOCI, root: root,
			cli: ociCLI{bin: bin, global: []string{"--root", root}, log: log}}
		switch {
		case r.name == runscVariant:
			p.kind = kindRunsc
			p.cli.global = []string{"--root=" + root, "--network=none"}
			notes = append(notes, "runsc: --network=none, its default platform")
		case r.name == crunVariant && hybrid:
			p.cli = ociCLI{bin: "unshare", log: log, global: []string{"-m", "sh", "-c",
				`umount /sys/fs/cgroup/unified && exec "$0" "$@"`, bin, "--root", root}}
			notes = append(notes, "crun: in a private mount namespace without /sys/fs/cgroup/unified (crun refuses a hybrid cgroup layout)")
		}
		ps = append(ps, p)
	}
	return ps, notes
}

// hybridCgroups reports whether the mount table at path has cgroup v1
// hierarchies beside a v2 one at /sys/fs/cgroup/unified.
func hybridCgroups(path string) bool {
	ms, err := mountinfo.Read(path)
	if err != nil {
		return false
	}
	v1, unified := false, false
	for _, m := range ms {
		switch {
		case m.FSType == "cgroup":
			v1 = true
		case m.FSType == "cgroup2" && m.Target == "/sys/fs/cgroup/unified":
			unified = true
		}
	}
	return v1 && unified
}
