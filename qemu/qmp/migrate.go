package qmp

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrMigrationFailed is wrapped by Migration.Wait's error when QEMU reports
// the migration failed or was cancelled.
var ErrMigrationFailed = errors.New("qmp: migration failed")

// MigrationCapability is a capability of migrate-set-capabilities.
type MigrationCapability string

// CapIgnoreShared leaves RAM backed by a shared file out of the migration
// stream, the file holding it already (x-ignore-shared): both ends need it.
const CapIgnoreShared MigrationCapability = "x-ignore-shared"

// Migration statuses of query-migrate that end a migration.
const (
	MigrationCompleted = "completed"
	MigrationFailed    = "failed"
	MigrationCancelled = "cancelled"
)

type capabilityState struct {
	Capability MigrationCapability `json:"capability"`
	State      bool                `json:"state"`
}

// Migration holds the migration commands of a QMP connection: Kite saves a
// template VM's device state and restores clones from it.
type Migration struct{ c *Client }

// Migration returns the connection's migration commands.
func (c *Client) Migration() Migration { return Migration{c} }

type capabilitiesArgs struct {
	Capabilities []capabilityState `json:"capabilities"`
}

// SetCapability turns a migration capability on or off; it is set before
// Start on the source and before Incoming on the destination.
func (m Migration) SetCapability(ctx context.Context, cap MigrationCapability, on bool) error {
	if cap == "" {
		return fmt.Errorf("setting a migration capability: %w: no capability", ErrInvalidArgs)
	}
	return m.c.Execute(ctx, "migrate-set-capabilities", capabilitiesArgs{[]capabilityState{{cap, on}}}, nil)
}

type uriArgs struct {
	URI string `json:"uri"`
}

// Start starts saving the VM to uri (QMP migrate), "fd:NAME" for a
// descriptor passed with GetFD; it returns once the migration has
// started: Wait waits for its end.
func (m Migration) Start(ctx context.Context, uri string) error {
	if uri == "" {
		return fmt.Errorf("migrating: %w: no URI", ErrInvalidArgs)
	}
	return m.c.Execute(ctx, "migrate", uriArgs{uri}, nil)
}

// Incoming starts loading a saved VM from uri (QMP migrate-incoming) into
// a QEMU started with -incoming defer; Wait waits for its end. A QEMU 7.2
// that fails to load exits.
func (m Migration) Incoming(ctx context.Context, uri string) error {
	if uri == "" {
		return fmt.Errorf("loading a migration: %w: no URI", ErrInvalidArgs)
	}
	return m.c.Execute(ctx, "migrate-incoming", uriArgs{uri}, nil)
}

// MigrationInfo is the part of query-migrate's answer Kite reads.
type MigrationInfo struct {
	// Status is "none", "setup", "active", "completed", "failed",
	// "cancelled", ...
	Status string `json:"status"`
	// ErrorDesc says why a migration failed.
	ErrorDesc string `json:"error-desc,omitempty"`
	// TotalTime and Downtime are in milliseconds (source side).
	TotalTime int64 `json:"total-time,omitempty"`
	Downtime  int64 `json:"downtime,omitempty"`
	RAM       *struct {
		// Transferred is the bytes of RAM written to the stream.
		Transferred int64 `json:"transferred"`
	} `json:"ram,omitempty"`
}

// Query reports the state of the migration, outgoing or incoming.
func (m Migration) Query(ctx context.Context) (MigrationInfo, error) {
	var info MigrationInfo
	err := m.c.Execute(ctx, "query-migrate", nil, &info)
	return info, err
}

// Wait polls query-migrate every interval until the migration completed,
// or returns an error wrapping ErrMigrationFailed with QEMU's reason when
// it failed or was cancelled; ctx bounds the wait.
func (m Migration) Wait(ctx context.Context, interval time.Duration) (MigrationInfo, error) {
	if interval <= 0 {
		return MigrationInfo{}, fmt.Errorf("waiting for a migration: %w: interval %v", ErrInvalidArgs, interval)
	}
	for {
		info, err := m.Query(ctx)
		if err != nil {
			return info, err
		}
		switch info.Status {
		case MigrationCompleted:
			return info, nil
		case MigrationFailed, MigrationCancelled:
			return info, fmt.Errorf("%w: %s: %s", ErrMigrationFailed, info.Status, info.ErrorDesc)
		}
		select {
		case <-ctx.Done():
			return info, fmt.Errorf("waiting for the migration (status %q): %w", info.Status, ctx.Err())
		case <-time.After(interval):
		}
	}
}

// GenerationID returns the GUID of the VM's vmgenid device, which tells a
// restored guest it is a new copy.
func (m Migration) GenerationID(ctx context.Context) (string, error) {
	var r struct {
		GUID string `json:"guid"`
	}
	err := m.c.Execute(ctx, "query-vm-generation-id", nil, &r)
	return r.GUID, err
}
