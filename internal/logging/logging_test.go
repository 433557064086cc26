package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestNewFormatsAndLevels(t *testing.T) {
	var buf bytes.Buffer
	l, err := New(&buf, "json", "warn")
	if err != nil {
		t.Fatal(err)
	}
	ctx := WithLogger(context.Background(), l)
	From(ctx).Info("hidden")
	From(ctx).Warn("shown", KeySandbox, "sb1")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("want exactly one JSON record, got %q: %v", buf.String(), err)
	}
	if rec["msg"] != "shown" || rec[KeySandbox] != "sb1" {
		t.Errorf("record = %v", rec)
	}
}

func TestNewRejectsBadInput(t *testing.T) {
	for _, tc := range []struct{ format, level, want string }{
		{"xml", "info", `log format "xml"`},
		{"text", "loud", `log level "loud"`},
	} {
		if _, err := New(&bytes.Buffer{}, tc.format, tc.level); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%q, %q) error = %v, want %q", tc.format, tc.level, err, tc.want)
		}
	}
}

func TestFromWithoutLoggerDiscards(t *testing.T) {
	From(context.Background()).Error("nowhere") // must not panic
}
