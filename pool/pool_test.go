package pool

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kite-vm/kite/configs"
)

// The test binary re-executed as a fake warm process: it makes a ready
// slot in POOL_TEST_DIR, prints its directory, and serves claims whose
// role is "fits" until SIGTERM, when it removes its slot, as a warm
// process does on a drain.
func TestMain(m *testing.M) {
	if dir := os.Getenv("POOL_TEST_DIR"); dir != "" {
		os.Exit(fakeWarm(dir))
	}
	os.Exit(m.Run())
}

func fakeWarm(dir string) int {
	s, err := NewSlot(dir, "d1", 64)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	if err := s.Ready(time.Second); err != nil {
		return 1
	}
	fmt.Println(s.Dir)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	acc, err := s.Serve(ctx, nil, func(r Request, _ []*os.File) error {
		if r.Role != "fits" {
			return errors.New("wrong role")
		}
		return nil
	})
	if err != nil {
		s.Leave()
		os.Remove(s.Dir)
		return 0
	}
	send(acc.Conn, map[string]string{"hello": "from " + s.ID}, nil)
	time.Sleep(time.Hour)
	return 0
}

// startFake starts a fake warm process and returns its slot directory.
func startFake(t *testing.T, dir string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "POOL_TEST_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, dir) {
		t.Fatalf("fake warm process said %q, %v", line, err)
	}
	slot := strings.TrimSpace(line)
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(slot, SocketName)); err == nil {
			return cmd, slot
		}
		if time.Now().After(end) {
			t.Fatal("the fake warm process never listened")
		}
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestClaimHandsOverFiles(t *testing.T) {
	dir := t.TempDir()
	s, err := NewSlot(dir, "d1", 64)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(time.Second); err != nil {
		t.Fatal(err)
	}
	type served struct {
		acc *Accepted
		err error
	}
	ch := make(chan served, 1)
	refused := make(chan string, 4)
	go func() {
		acc, err := s.Serve(context.Background(), nil, func(r Request, files []*os.File) error {
			var p struct{ Want string }
			json.Unmarshal(r.Payload, &p)
			if p.Want != "yes" {
				refused <- p.Want
				return fmt.Errorf("not for %q", p.Want)
			}
			if len(files) != 1 {
				return fmt.Errorf("%d files", len(files))
			}
			return nil
		})
		ch <- served{acc, err}
	}()
	waitFile(t, filepath.Join(s.Dir, SocketName))
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()

	_, err = Claim(context.Background(), dir, Request{Role: "oci", Digest: "d1", Payload: json.RawMessage(`{"Want":"no"}`)}, []*os.File{w}, discard())
	if !errors.Is(err, ErrEmpty) || !strings.Contains(err.Error(), `not for "no"`) {
		t.Fatalf("a claim the VM does not fit: %v, want ErrEmpty with the reason", err)
	}
	if got := <-refused; got != "no" {
		t.Errorf("fit saw %q", got)
	}
	if _, err := Claim(context.Background(), dir, Request{Role: "oci", Digest: "other"}, nil, discard()); !errors.Is(err, ErrEmpty) {
		t.Fatalf("a claim with another digest: %v, want ErrEmpty", err)
	}
	c, err := Claim(context.Background(), dir, Request{Role: "oci", Digest: "d1", Payload: json.RawMessage(`{"Want":"yes"}`)}, []*os.File{w}, discard())
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	defer c.Conn.Close()
	// The slot left the pool before the claimer heard yes: a refill right
	// after the claim (the shim's) must not count it.
	if sts, _ := List(dir); len(sts) != 0 {
		t.Errorf("slots as the claim returns: %v", sts)
	}
	sv := <-ch
	if sv.err != nil {
		t.Fatalf("Serve: %v", sv.err)
	}
	if c.Status.Pid != os.Getpid() || c.Status.Slot != s.ID {
		t.Errorf("claimed %+v", c.Status)
	}
	// The file handed over is the pipe's write end.
	if _, err := sv.acc.Files[0].Write([]byte("through\n")); err != nil {
		t.Fatal(err)
	}
	sv.acc.Files[0].Close()
	if line, _ := bufio.NewReader(r).ReadString('\n'); line != "through\n" {
		t.Errorf("read %q through the handed-over file", line)
	}
	// The slot left the pool.
	if sts, _ := List(dir); len(sts) != 0 {
		t.Errorf("slots after the claim: %v", sts)
	}
}

func waitFile(t *testing.T, path string) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("%s never appeared", path)
		}
	}
}

// Two claims at once on one warm VM: one gets it, the other finds the pool
// empty.
func TestConcurrentClaimsGetOneVM(t *testing.T) {
	dir := t.TempDir()
	startFake(t, dir)
	var wg sync.WaitGroup
	results := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := Claim(context.Background(), dir, Request{Role: "fits", Digest: "d1"}, nil, discard())
			if err == nil {
				var hello map[string]string
				_, err = receive(c.Conn, &hello)
				c.Conn.Close()
			}
			results <- err
		}()
	}
	wg.Wait()
	close(results)
	won := 0
	for err := range results {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, ErrEmpty):
			t.Errorf("a losing claim: %v, want ErrEmpty", err)
		}
	}
	if won != 1 {
		t.Errorf("%d claims got the VM, want 1", won)
	}
}

// A drain stops the warm process and its slot goes; a claim after it
// finds nothing.
func TestDrainStopsWarmProcess(t *testing.T) {
	dir := t.TempDir()
	cmd, slot := startFake(t, dir)
	n, err := Drain(context.Background(), dir)
	if err != nil || n != 1 {
		t.Fatalf("Drain = %d, %v; want 1 stopped", n, err)
	}
	if _, err := os.Stat(slot); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("slot left after the drain (%v)", err)
	}
	cmd.Wait()
	if _, err := Claim(context.Background(), dir, Request{Role: "fits", Digest: "d1"}, nil, discard()); !errors.Is(err, ErrEmpty) {
		t.Errorf("claim after drain: %v, want ErrEmpty", err)
	}
}

// A warm process that died is listed dead, never handed out, and cleaned
// up by the next claim.
func TestDeadWarmProcessCleanedNotClaimed(t *testing.T) {
	dir := t.TempDir()
	cmd, slot := startFake(t, dir)
	cmd.Process.Kill()
	cmd.Wait()
	sts, err := List(dir)
	if err != nil || len(sts) != 1 || sts[0].State != StateDead {
		t.Fatalf("List after the death: %v, %v", sts, err)
	}
	if _, err := Claim(context.Background(), dir, Request{Role: "fits", Digest: "d1"}, nil, discard()); !errors.Is(err, ErrEmpty) {
		t.Errorf("claim of a dead slot: %v, want ErrEmpty", err)
	}
	if _, err := os.Stat(slot); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dead slot not cleaned up (%v)", err)
	}
}

// A claim holding the lock keeps a drain waiting; once the VM is claimed
// the drain leaves it alone.
func TestClaimRacingDrain(t *testing.T) {
	dir := t.TempDir()
	cmd, slot := startFake(t, dir)
	unlock, ok, err := tryLock(slot)
	if err != nil || !ok {
		t.Fatalf("tryLock: %v %v", ok, err)
	}
	drained := make(chan int, 1)
	go func() {
		n, _ := Drain(context.Background(), dir)
		drained <- n
	}()
	select {
	case <-drained:
		t.Fatal("the drain did not wait for the claim holding the lock")
	case <-time.After(200 * time.Millisecond):
	}
	// The claim completes while it holds the lock, as claimSlot's does.
	c, err := claimHeld(slot)
	unlock()
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	defer c.Close()
	if n := <-drained; n != 0 {
		t.Errorf("the drain stopped %d VMs, want 0: the one there was claimed", n)
	}
	if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("the claimed warm process was stopped: %v", err)
	}
}

// claimHeld claims a slot whose lock the caller holds.
func claimHeld(slot string) (io.Closer, error) {
	st, err := readStatus(slot)
	if err != nil {
		return nil, err
	}
	conn, err := dialClaim(st)
	if err != nil {
		return nil, err
	}
	if err := send(conn, Request{Role: "fits", Digest: "d1"}, nil); err != nil {
		return nil, err
	}
	var a answer
	if _, err := receive(conn, &a); err != nil || !a.Accepted {
		return nil, fmt.Errorf("answer %+v, %v", a, err)
	}
	return conn, nil
}

func TestBudgetRefusesWithArithmetic(t *testing.T) {
	b := Budget{GuestMiB: 512, OverheadMiB: 96, AvailableMiB: 2000}
	if err := b.Check(3); err != nil {
		t.Errorf("3 VMs of 608 MiB in 2000 MiB: %v", err)
	}
	err := b.Check(4)
	if err == nil || !strings.Contains(err.Error(), "4 × (512 MiB guest + 96 MiB host) = 2432 MiB") || !strings.Contains(err.Error(), "2000 MiB available") {
		t.Errorf("4 VMs: %v, want the arithmetic", err)
	}
	n, err := Fill(context.Background(), t.TempDir(), 4, b, func() error { t.Fatal("spawned despite the budget"); return nil })
	if err == nil || n != 0 {
		t.Errorf("Fill over budget = %d, %v", n, err)
	}
}

func TestDigestFollowsConfigAndGuest(t *testing.T) {
	dir := t.TempDir()
	c := configs.Default()
	c.Guest.Dir = dir
	kernel := filepath.Join(dir, c.Guest.Kernel)
	os.MkdirAll(filepath.Dir(kernel), 0o755)
	os.WriteFile(kernel, []byte("k1"), 0o644)
	d1 := Digest(c)
	c2 := c.Clone()
	c2.Pool.Size = 5
	c2.Runtime.LogLevel = configs.LogDebug
	if Digest(c2) != d1 {
		t.Error("the pool's own knobs changed the digest")
	}
	c2.Hypervisor.MemoryMiB++
	if Digest(c2) == d1 {
		t.Error("guest memory did not change the digest")
	}
	later := time.Now().Add(time.Minute)
	os.WriteFile(kernel, []byte("k2-rebuilt"), 0o644)
	os.Chtimes(kernel, later, later)
	if Digest(c) == d1 {
		t.Error("a rebuilt kernel did not change the digest")
	}
}

// TestConcurrentFillsStartWhatIsMissing: creates refill at once, each with
// a Fill; together they start no more warm VMs than the pool is short of.
func TestConcurrentFillsStartWhatIsMissing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pool")
	spawn := func() error {
		_, err := NewSlot(dir, "d1", 64)
		return err
	}
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := Fill(context.Background(), dir, 3, Budget{}, spawn); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if sts, _ := List(dir); len(sts) != 3 {
		t.Errorf("%d slots after 5 fills of a pool of 3, want 3: %v", len(sts), sts)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 3 {
		t.Errorf("the pool directory holds %d entries, want the 3 slots", len(ents))
	}
}

// TestClaimOfALeftSlotLeavesNoLock: a claimer that lists a slot just
// before it leaves the pool finds its lock gone and creates none, so the
// directory the sandbox keeps holds only the engine's files.
func TestClaimOfALeftSlotLeavesNoLock(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pool")
	s, err := NewSlot(dir, "d1", 64)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Leave(); err != nil {
		t.Fatal(err)
	}
	if _, err := claimSlot(context.Background(), Status{Slot: s.ID, Dir: s.Dir}, Request{Role: "fits", Digest: "d1"}, nil); !errors.Is(err, errLeftPool) {
		t.Errorf("claim of a slot that left: %v, want errLeftPool", err)
	}
	if ents, _ := os.ReadDir(s.Dir); len(ents) != 0 {
		t.Errorf("the slot that left holds %v", ents)
	}
}
