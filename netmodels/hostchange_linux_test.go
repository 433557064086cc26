package netmodels

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/qemu"
	"github.com/vishvananda/netlink"
)

// memJournal is a Journal in memory that round-trips each change through
// JSON, as the sandbox's record on disk does.
type memJournal struct {
	mu    sync.Mutex
	notes map[string][]byte
}

func (j *memJournal) Note(c HostChange) error {
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.notes == nil {
		j.notes = map[string][]byte{}
	}
	j.notes[c.Endpoint] = data
	return nil
}

func (j *memJournal) Forget(endpoint string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	delete(j.notes, endpoint)
	return nil
}

func (j *memJournal) change(t *testing.T, endpoint string) HostChange {
	t.Helper()
	j.mu.Lock()
	defer j.mu.Unlock()
	data, ok := j.notes[endpoint]
	if !ok {
		t.Fatalf("no record for endpoint %s", endpoint)
	}
	var c HostChange
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// netnsState renders what an endpoint may change in a pod netns: links,
// qdiscs, ingress filters, addresses and routes.
func netnsFullState(t *testing.T, path string) []string {
	t.Helper()
	out := tcfSnapshot(t, path)
	h := testHandle(t, path)
	links, err := h.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		addrs, err := h.AddrList(l, netlink.FAMILY_ALL)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range addrs {
			out = append(out, fmt.Sprintf("addr %s %s", l.Attrs().Name, a.IPNet))
		}
		routes, err := h.RouteList(l, netlink.FAMILY_ALL)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range routes {
			out = append(out, fmt.Sprintf("route %s dst %v gw %v src %v scope %v proto %v", l.Attrs().Name, r.Dst, r.Gw, r.Src, r.Scope, r.Protocol))
		}
	}
	sort.Strings(out)
	return out
}

// crash drops an attached endpoint the way the death of its process does:
// the queue fds close (a tcfilter's tap vanishes with them), nothing is
// undone.
func crash(host *cleanup.Stack, dev qemu.Device) {
	host.Release()
	if tn, ok := dev.(qemu.TapNet); ok {
		for _, f := range tn.FDs {
			f.Close()
		}
	}
}

func TestIntegrationUndoHostChangeAfterCrash(t *testing.T) {
	for _, kind := range []EndpointKind{EndpointTCFilter, EndpointMacvtap} {
		t.Run(string(kind), func(t *testing.T) {
			p := tcfNewPodNet(t, 1500)
			before := netnsFullState(t, p.PodPath)
			j := &memJournal{}
			ep := &Endpoint{ID: "net0", NetnsPath: p.PodPath, Link: Link{Name: tcfPodIf, MAC: p.PodMAC, MTU: 1500}, Kind: kind, Queues: 2, Journal: j}
			var host cleanup.Stack
			plugged, err := ep.Attach(context.Background(), &host)
			if err != nil {
				t.Fatal(err)
			}
			c := j.change(t, "net0")
			if c.Kind != kind || c.Iface != tcfPodIf || c.Link == "" {
				t.Errorf("record %+v, want kind %s on %s with the link it makes", c, kind, tcfPodIf)
			}
			if kind == EndpointMacvtap && (c.Held == nil || len(c.Held.Addrs) != 1 || len(c.Held.Routes) == 0) {
				t.Errorf("macvtap record holds %+v, want eth0's address and its routes", c.Held)
			}
			if diff := cmp.Diff(before, netnsFullState(t, p.PodPath)); diff == "" {
				t.Fatal("attaching changed nothing in the pod netns")
			}
			crash(&host, plugged.Device)
			if err := UndoHostChange(c); err != nil {
				t.Fatalf("UndoHostChange: %v", err)
			}
			if diff := cmp.Diff(before, netnsFullState(t, p.PodPath)); diff != "" {
				t.Errorf("pod netns not restored from the record (-before +after):\n%s", diff)
			}
			if err := UndoHostChange(c); err != nil {
				t.Errorf("second UndoHostChange: %v", err)
			}
			if diff := cmp.Diff(before, netnsFullState(t, p.PodPath)); diff != "" {
				t.Errorf("second undo changed the netns (-before +after):\n%s", diff)
			}
		})
	}
}

// A record written before a crash that came before any change, and the
// live detach, both leave the netns as it was; the live detach forgets
// the record.
func TestIntegrationHostChangeRecordLifecycle(t *testing.T) {
	p := tcfNewPodNet(t, 1500)
	before := netnsFullState(t, p.PodPath)
	j := &memJournal{}
	ep := &Endpoint{ID: "net0", NetnsPath: p.PodPath, Link: Link{Name: tcfPodIf, MAC: p.PodMAC, MTU: 1500}, Kind: EndpointMacvtap, Queues: 1, Journal: j}
	c, _, err := ep.inspect()
	if err != nil {
		t.Fatal(err)
	}
	if err := UndoHostChange(c); err != nil {
		t.Fatalf("undo of a change never made: %v", err)
	}
	if diff := cmp.Diff(before, netnsFullState(t, p.PodPath)); diff != "" {
		t.Errorf("undo of a change never made changed the netns (-before +after):\n%s", diff)
	}
	var host cleanup.Stack
	if _, err := ep.Attach(context.Background(), &host); err != nil {
		t.Fatal(err)
	}
	if err := host.Clean(); err != nil {
		t.Fatal(err)
	}
	if len(j.notes) != 0 {
		t.Errorf("records left after the live detach: %v", j.notes)
	}
	if diff := cmp.Diff(before, netnsFullState(t, p.PodPath)); diff != "" {
		t.Errorf("live detach left the netns changed (-before +after):\n%s", diff)
	}
}

func TestUndoHostChangeGoneNetns(t *testing.T) {
	c := HostChange{Endpoint: "net0", Kind: EndpointMacvtap, Netns: "/nonexistent/netns", Iface: "eth0", Link: "mvt2_kite"}
	if err := UndoHostChange(c); err != nil {
		t.Errorf("a netns that is gone has nothing to undo, got %v", err)
	}
}

func TestHeldAddrsRoundTrip(t *testing.T) {
	r := HeldAddrs{
		Addrs:  []HeldAddr{{Prefix: "10.0.0.2/24", Broadcast: "10.0.0.255", Label: "eth0", Scope: 0}, {Prefix: "fd00::2/64", Flags: 0x80}},
		Routes: []HeldRoute{{Gw: "10.0.0.1", Family: 2, Protocol: 3}, {Dst: "10.1.0.0/16", Gw: "10.0.0.254", Family: 2, Priority: 10}},
	}
	addrs, routes, err := r.toNetlink()
	if err != nil {
		t.Fatal(err)
	}
	back := (&AddrHold{addrs: addrs, routes: routes}).record()
	if diff := cmp.Diff(r, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if _, _, err := (HeldAddrs{Addrs: []HeldAddr{{Prefix: "nonsense"}}}).toNetlink(); err == nil {
		t.Error("a bad recorded address was accepted")
	}
}
