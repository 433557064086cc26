package qemu

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// rawQMP is a minimal QMP client for tests, so they do not depend on
// qemu/qmp: one command at a time, events skipped.
type rawQMP struct {
	conn *net.UnixConn
	r    *bufio.Reader
}

func dialQMP(t *testing.T, path string) *rawQMP {
	t.Helper()
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatalf("dialing QMP: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	q := &rawQMP{conn: conn, r: bufio.NewReader(conn)}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := q.r.ReadBytes('\n'); err != nil {
		t.Fatalf("reading QMP greeting: %v", err)
	}
	if _, err := q.execute("qmp_capabilities", nil); err != nil {
		t.Fatal(err)
	}
	return q
}

// execute runs cmd and returns its "return" value.
func (q *rawQMP) execute(cmd string, args any) (json.RawMessage, error) {
	return q.executeWithFile(cmd, args, nil)
}

// executeWithFile sends f along with the command (SCM_RIGHTS), as getfd needs.
func (q *rawQMP) executeWithFile(cmd string, args any, f *os.File) (json.RawMessage, error) {
	req := map[string]any{"execute": cmd}
	if args != nil {
		req["arguments"] = args
	}
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	q.conn.SetDeadline(time.Now().Add(10 * time.Second))
	var oob []byte
	if f != nil {
		oob = unix.UnixRights(int(f.Fd()))
	}
	if _, _, err := q.conn.WriteMsgUnix(append(b, '\n'), oob, nil); err != nil {
		return nil, fmt.Errorf("sending %s: %w", cmd, err)
	}
	for {
		line, err := q.r.ReadBytes('\n')
		if err != nil {
			return nil, fmt.Errorf("reading reply to %s: %w", cmd, err)
		}
		var resp struct {
			Event  string          `json:"event"`
			Return json.RawMessage `json:"return"`
			Error  *struct {
				Desc string `json:"desc"`
			} `json:"error"`
		}
		if err := json.Unmarshal(line, &resp); err != nil {
			return nil, fmt.Errorf("decoding reply to %s: %w", cmd, err)
		}
		switch {
		case resp.Event != "":
			continue
		case resp.Error != nil:
			return nil, fmt.Errorf("%s: %s", cmd, resp.Error.Desc)
		}
		return resp.Return, nil
	}
}

// Quit makes rawQMP a Quitter.
func (q *rawQMP) Quit(ctx context.Context) error {
	_, err := q.execute("quit", nil)
	return err
}

// pciIDs returns the qdev ids query-pci shows, behind bridges included.
func (q *rawQMP) pciIDs() (map[string]bool, error) {
	ret, err := q.execute("query-pci", nil)
	if err != nil {
		return nil, err
	}
	type device struct {
		QdevID    string `json:"qdev_id"`
		PCIBridge *struct {
			Devices []json.RawMessage `json:"devices"`
		} `json:"pci_bridge"`
	}
	var buses []struct {
		Devices []json.RawMessage `json:"devices"`
	}
	if err := json.Unmarshal(ret, &buses); err != nil {
		return nil, err
	}
	ids := map[string]bool{}
	var walk func([]json.RawMessage) error
	walk = func(devs []json.RawMessage) error {
		for _, raw := range devs {
			var d device
			if err := json.Unmarshal(raw, &d); err != nil {
				return err
			}
			if d.QdevID != "" {
				ids[d.QdevID] = true
			}
			if d.PCIBridge != nil {
				if err := walk(d.PCIBridge.Devices); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, b := range buses {
		if err := walk(b.Devices); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// waitPCI polls query-pci until every id shows: devices behind root ports
// appear once the firmware has numbered the buses.
func (q *rawQMP) waitPCI(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ids, err := q.pciIDs()
		if err != nil {
			t.Fatalf("query-pci: %v", err)
		}
		var missing []string
		for _, id := range want {
			if !ids[id] {
				missing = append(missing, id)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("query-pci lacks %v; has %v", missing, ids)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
