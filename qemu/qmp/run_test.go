package qmp_test

import (
	"errors"
	"testing"

	"github.com/kite-vm/kite/qemu/qmp"
	"github.com/kite-vm/kite/qemu/qmp/qmptest"
)

func TestRunControl(t *testing.T) {
	c, _ := start(t,
		qmptest.Expect("stop", "").EventBefore("STOP", ""),
		qmptest.Expect("cont", "").EventBefore("RESUME", ""),
		qmptest.Expect("system_powerdown", "").EventBefore("POWERDOWN", ""),
	)
	ctx := testContext(t)
	if err := c.Stop(ctx); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if err := c.Cont(ctx); err != nil {
		t.Errorf("Cont: %v", err)
	}
	if err := c.SystemPowerdown(ctx); err != nil {
		t.Errorf("SystemPowerdown: %v", err)
	}
}

func TestQuit(t *testing.T) {
	tests := []struct {
		name    string
		step    qmptest.Step
		wantErr bool
	}{
		{"reply then exit", qmptest.Expect("quit", "").EventBefore("SHUTDOWN", `{"guest": false, "reason": "host-qmp-quit"}`), false},
		{"exit before reply", qmptest.Expect("quit", "").Closes(), false},
		{"refused", qmptest.Expect("quit", "").Fails("GenericError", "no"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := start(t, tt.step)
			if err := c.Quit(testContext(t)); (err != nil) != tt.wantErr {
				t.Errorf("Quit = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestQuitOnClosedClientFails(t *testing.T) {
	c, _ := start(t)
	c.Close()
	// Nothing was sent, so nothing says QEMU is exiting.
	if err := c.Quit(testContext(t)); !errors.Is(err, qmp.ErrClosed) {
		t.Errorf("Quit after Close = %v, want ErrClosed", err)
	}
}
