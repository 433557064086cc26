package qmp_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/qemu/qmp"
	"github.com/kite-vm/kite/qemu/qmp/qmptest"
)

// TestSaveSequence is what vm sends to save a template: the capability,
// the migration to a passed descriptor, polls until completed.
func TestSaveSequence(t *testing.T) {
	c, _ := start(t,
		qmptest.Expect("migrate-set-capabilities", `{"capabilities":[{"capability":"x-ignore-shared","state":true}]}`),
		qmptest.Expect("migrate", `{"uri":"fd:state"}`),
		qmptest.Expect("query-migrate", "").Returns(`{"status":"setup"}`),
		qmptest.Expect("query-migrate", "").Returns(`{"status":"active"}`),
		qmptest.Expect("query-migrate", "").Returns(`{"status":"completed","total-time":10,"downtime":2,"ram":{"transferred":210100}}`),
	)
	ctx := testContext(t)
	if err := c.Migration().SetCapability(ctx, qmp.CapIgnoreShared, true); err != nil {
		t.Fatalf("SetCapability: %v", err)
	}
	if err := c.Migration().Start(ctx, "fd:state"); err != nil {
		t.Fatalf("Start: %v", err)
	}
	info, err := c.Migration().Wait(ctx, time.Millisecond)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if info.TotalTime != 10 || info.Downtime != 2 || info.RAM == nil || info.RAM.Transferred != 210100 {
		t.Errorf("info = %+v", info)
	}
}

func TestMigrationWaitFailed(t *testing.T) {
	for _, status := range []string{"failed", "cancelled"} {
		t.Run(status, func(t *testing.T) {
			c, _ := start(t,
				qmptest.Expect("migrate-incoming", `{"uri":"fd:state"}`),
				qmptest.Expect("query-migrate", "").Returns(`{"status":"active"}`),
				qmptest.Expect("query-migrate", "").Returns(`{"status":"`+status+`","error-desc":"Unknown ramblock \"x\""}`),
			)
			ctx := testContext(t)
			if err := c.Migration().Incoming(ctx, "fd:state"); err != nil {
				t.Fatalf("Incoming: %v", err)
			}
			_, err := c.Migration().Wait(ctx, time.Millisecond)
			if !errors.Is(err, qmp.ErrMigrationFailed) || !strings.Contains(err.Error(), "Unknown ramblock") {
				t.Errorf("Wait = %v, want ErrMigrationFailed with QEMU's reason", err)
			}
		})
	}
}

func TestMigrateRefused(t *testing.T) {
	c, _ := start(t, qmptest.Expect("migrate", `{"uri":"fd:state"}`).Fails("GenericError",
		"State blocked by non-migratable device '0000:00:02.0/vhost-user-fs'"))
	wantQMPError(t, c.Migration().Start(testContext(t), "fd:state"), "migrate", "GenericError")
}

// TestMigrateBadArgs: nothing is sent for an empty URI or capability, or a
// poll interval that would spin.
func TestMigrateBadArgs(t *testing.T) {
	c, _ := start(t)
	ctx := testContext(t)
	for name, err := range map[string]error{
		"migrate":    c.Migration().Start(ctx, ""),
		"incoming":   c.Migration().Incoming(ctx, ""),
		"capability": c.Migration().SetCapability(ctx, "", true),
		"interval":   func() error { _, err := c.Migration().Wait(ctx, 0); return err }(),
	} {
		if !errors.Is(err, qmp.ErrInvalidArgs) {
			t.Errorf("%s: %v, want ErrInvalidArgs", name, err)
		}
	}
}

func TestGenerationID(t *testing.T) {
	const guid = "6d2a0a8e-55b1-4c0e-9a5b-1f0f3c0b9e21"
	c, _ := start(t, qmptest.Expect("query-vm-generation-id", "").Returns(`{"guid":"`+guid+`"}`))
	got, err := c.Migration().GenerationID(testContext(t))
	if err != nil || got != guid {
		t.Errorf("GenerationID = %q, %v; want %q", got, err, guid)
	}
}
