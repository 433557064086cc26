package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/cleanup"
)

// network measures a pod's network through the VM for each model and queue
// count: TCP throughput from the guest (busybox dd | nc) to a Go sink in the
// node netns, and ping RTT from the guest to the node. The baseline is the
// same commands run on the host in a pod netns of the same shape without a
// VM (plain veth).
type network struct{}

const (
	vethVariant = "veth, no VM"
	sinkPort    = "5201"
)

func (network) Name() string     { return "network" }
func (network) Title() string    { return "Pod network, guest to node" }
func (network) Baseline() string { return vethVariant }

// netVariant is one pod network and, but for the baseline, the pod the
// engine made on it, whose container runs the client.
type netVariant struct {
	name string
	net  podNet
	pod  *pod // nil for the baseline
	sink net.Listener
}

// netModel is how a variant's VM carries the pod interface.
type netModel struct {
	model  configs.NetModel
	queues int
	// vhostUser puts a vhost-user backend (testpmd, bridged to a tap in a
	// peer netns holding the node's address) behind the pod's eth0.
	vhostUser bool
}

func (m netModel) String() string {
	if m.vhostUser {
		return fmt.Sprintf("vhost-user %dq", m.queues)
	}
	return fmt.Sprintf("%s %dq", m.model, m.queues)
}

type networkTrial struct {
	notes    []string
	dir      string
	busybox  string
	bytes    int64
	pings    int
	variants []*netVariant
	undo     cleanup.Stack
}

func (network) Setup(ctx context.Context, env Env) (_ Trial, err error) {
	if err := firstErr(requireRoot(), requireGuest(env.Config), requireVirtiofsd(env.Config)); err != nil {
		return nil, err
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return nil, skip("ip is missing (apt-get install iproute2)")
	}
	t := &networkTrial{busybox: busyboxPath, bytes: 64 << 20, pings: 10}
	models := []netModel{{configs.NetTCFilter, 1, false}, {configs.NetTCFilter, 2, false}, {configs.NetMacvtap, 1, false},
		{configs.NetMacvtap, 2, false}, {configs.NetTCFilter, 1, true}}
	if env.Quick {
		t.bytes, t.pings = 4<<20, 3
		models = []netModel{{configs.NetTCFilter, 1, false}, {configs.NetMacvtap, 1, false}}
	}
	if t.dir, err = os.MkdirTemp(env.WorkDir, "net"); err != nil {
		return nil, err
	}
	t.undo.Add("remove the work directory", func() error { return os.RemoveAll(t.dir) })
	defer func() {
		if err != nil {
			err = errors.Join(err, t.Close(ctx))
		}
	}()
	rfs := filepath.Join(t.dir, "rootfs")
	if err := makeRootfs(ctx, rfs); err != nil {
		return nil, err
	}
	if err := t.addVariant(ctx, env, netModel{}, rfs); err != nil {
		return nil, err
	}
	for _, m := range models {
		err := t.addVariant(ctx, env, m, rfs)
		var se *SkipError
		if errors.As(err, &se) {
			t.notes = append(t.notes, m.String()+" not measured: "+se.Error())
			continue
		}
		if err != nil {
			return nil, err
		}
	}
	return t, nil
}

// addVariant creates a pod network, a sink in its node netns and, unless
// m is the zero netModel (the baseline), a pod made by the engine on that
// netns, its VM carrying the pod's eth0, with a container to run in. For
// vhost-user, eth0 is only the interface's record: its address names the
// socket testpmd serves, and the node's address and the sink are on
// testpmd's tap in a peer netns.
func (t *networkTrial) addVariant(ctx context.Context, env Env, m netModel, rfs string) error {
	name := vethVariant
	if m != (netModel{}) {
		name = m.String()
	}
	i := len(t.variants)
	pn, err := newPodNet(ctx, i, &t.undo)
	if err != nil {
		return err
	}
	cfg := benchConfig(env.Config)
	sinkNS := pn.nodePath
	if m.vhostUser {
		if sinkNS, err = t.vhostUserBackend(ctx, cfg, pn, i, m.queues); err != nil {
			return err
		}
	}
	v := &netVariant{name: name, net: pn}
	t.variants = append(t.variants, v)
	if v.sink, err = listenIn(sinkNS, pn.nodeIP+":"+sinkPort); err != nil {
		return err
	}
	t.undo.Add("close the sink", func() error {
		if err := v.sink.Close(); !errors.Is(err, net.ErrClosed) {
			return err
		}
		return nil
	})
	if m == (netModel{}) {
		return nil
	}
	cfg.SharedFS.Driver = configs.FSVirtioFS
	cfg.Network.Model, cfg.Network.Queues = m.model, m.queues
	if v.pod, err = startPod(ctx, podSpec{cfg: cfg, host: env.host(), dir: filepath.Join(t.dir, fmt.Sprintf("n%d", i)),
		rootfs: rfs, netnsPath: pn.podPath}); err != nil {
		return err
	}
	t.undo.Add("stop pod "+v.pod.sb.ID(), v.pod.stop)
	return nil
}

func (t *networkTrial) Notes() []string {
	return append([]string{fmt.Sprintf("TCP: %d MiB from busybox dd | nc to a Go sink in the node netns; RTT: average of ping -c %d -i 0.2", t.bytes>>20, t.pings),
		"vhost-user: DPDK testpmd bridges the socket to a tap; it busy-polls one core for the whole benchmark, which the other variants share; vhost-net off here when /dev/vhost-net is missing"},
		t.notes...)
}

// vhostUserBackend starts testpmd for pod network i in a peer netns, with
// the node's address on its tap, and points the configuration's socket
// pattern at it. It returns the peer netns, where the sink listens.
func (t *networkTrial) vhostUserBackend(ctx context.Context, cfg *configs.Config, pn podNet, i, queues int) (string, error) {
	peer := fmt.Sprintf("kb-peer-%d-%d", os.Getpid(), i)
	if err := ipCmd(ctx, "netns", "add", peer); err != nil {
		return "", err
	}
	t.undo.Add("delete netns "+peer, func() error { return ipCmd(context.Background(), "netns", "del", peer) })
	cfg.Network.VhostUserSocketPattern = filepath.Join(t.dir, fmt.Sprintf("vhu%d_%s", i, configs.IPPlaceholder), "vhu.sock")
	sock := cfg.Network.VhostUserSocket(pn.podIP)
	if err := os.MkdirAll(filepath.Dir(sock), 0o755); err != nil {
		return "", err
	}
	peerPath := "/run/netns/" + peer
	return peerPath, startTestpmd(ctx, peerPath, sock, fmt.Sprintf("kbvhu%d", i), pn.nodeIP, queues, &t.undo)
}

func (t *networkTrial) Close(context.Context) error { return t.undo.Clean() }

func (t *networkTrial) Repeat(ctx context.Context, rec *Recorder) error {
	n := len(t.variants)
	for i := range n {
		v := t.variants[(i+max(rec.Repeat, 0))%n]
		if err := t.measure(ctx, rec, v); err != nil {
			return fmt.Errorf("%s: %w", v.name, err)
		}
	}
	return nil
}

func (t *networkTrial) measure(ctx context.Context, rec *Recorder, v *netVariant) error {
	type result struct {
		mibps float64
		err   error
	}
	got := make(chan result, 1)
	go func() {
		r, err := receive(ctx, v.sink, t.bytes)
		got <- result{r, err}
	}()
	send := fmt.Sprintf("set -o pipefail; dd if=/dev/zero bs=64k count=%d 2>/dev/null | nc %s %s", t.bytes>>16, v.net.nodeIP, sinkPort)
	if _, err := t.run(ctx, v, send); err != nil {
		v.sink.Close() // ends the receiver; the trial cannot go on without it
		<-got
		return err
	}
	r := <-got
	if r.err != nil {
		return r.err
	}
	rec.Add("TCP throughput", v.name, MiBps, r.mibps)
	out, err := t.run(ctx, v, fmt.Sprintf("ping -q -c %d -i 0.2 %s", t.pings, v.net.nodeIP))
	if err != nil {
		return err
	}
	rtt, err := parsePingAvg(out)
	if err != nil {
		return err
	}
	rec.Add("ping RTT", v.name, Millis, rtt)
	return nil
}

// run runs a shell script in the variant's container, or for the baseline
// in its pod netns on the host.
func (t *networkTrial) run(ctx context.Context, v *netVariant, script string) (string, error) {
	if v.pod != nil {
		return v.pod.run(ctx, script)
	}
	cmd := exec.CommandContext(ctx, t.busybox, "nsenter", "--net="+v.net.podPath, t.busybox, "sh", "-c", script)
	// The applets of the container's root file system, as in the guest.
	cmd.Env = []string{"PATH=" + filepath.Join(t.dir, "rootfs", "bin")}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s in %s: %w: %s", script, v.net.pod, err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}
