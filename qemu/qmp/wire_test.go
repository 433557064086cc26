package qmp

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []message
		wantErr error // of the call after the messages in want
	}{
		{
			name: "greeting",
			in:   `{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian 1:7.2"}, "capabilities": ["oob"]}}` + "\r\n",
			want: []message{{kind: kindGreeting, version: Version{7, 2, 22, "Debian 1:7.2"}}},
		},
		{
			name: "replies and events",
			in: `{"return": {}, "id": 1}` + "\r\n" +
				`{"timestamp": {"seconds": 1700000000, "microseconds": 250}, "event": "STOP"}` + "\r\n" +
				`{"id": "x", "error": {"class": "CommandNotFound", "desc": "no"}}` + "\n" +
				`{"event": "DEVICE_DELETED", "data": {"device": "n1"}, "timestamp": {"seconds": 2, "microseconds": 0}}`,
			want: []message{
				{kind: kindReply, id: json.RawMessage(`1`), ret: json.RawMessage(`{}`)},
				{kind: kindEvent, event: Event{Name: "STOP", Timestamp: time.Unix(1700000000, 250000)}},
				{kind: kindReply, id: json.RawMessage(`"x"`), err: &wireError{"CommandNotFound", "no"}},
				{kind: kindEvent, event: Event{Name: "DEVICE_DELETED", Data: json.RawMessage(`{"device": "n1"}`), Timestamp: time.Unix(2, 0)}},
			},
		},
		{
			name: "pretty-printed across lines",
			in:   "{\n  \"return\": [\n 1\n ],\n \"id\": 7\n}\n",
			want: []message{{kind: kindReply, id: json.RawMessage(`7`), ret: json.RawMessage("[\n 1\n ]")}},
		},
		{name: "empty stream", in: "", wantErr: io.EOF},
		{name: "garbage", in: "hello\n", wantErr: ErrProtocol},
		{name: "not an object", in: "[1, 2]\n", wantErr: ErrProtocol},
		{name: "wrong field type", in: `{"event": 5}`, wantErr: ErrProtocol},
		{name: "null", in: "null\n", wantErr: ErrProtocol},
		{name: "empty object", in: "{}\n", wantErr: ErrProtocol},
		{name: "return and error", in: `{"return": {}, "error": {"class": "a", "desc": "b"}}`, wantErr: ErrProtocol},
		{name: "event and reply", in: `{"return": {}, "event": "X"}`, wantErr: ErrProtocol},
		{name: "truncated", in: `{"return": {"a": `, wantErr: ErrProtocol},
		{name: "garbage after a message", in: `{"return": 1, "id": 1}` + "\n}{", want: []message{{kind: kindReply, id: json.RawMessage(`1`), ret: json.RawMessage(`1`)}}, wantErr: ErrProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDecoder(strings.NewReader(tt.in))
			var got []message
			for range tt.want {
				m, err := d.next()
				if err != nil {
					t.Fatalf("next() after %d messages: %v", len(got), err)
				}
				got = append(got, m)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(message{})); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
			want := tt.wantErr
			if want == nil {
				want = io.EOF
			}
			if _, err := d.next(); !errors.Is(err, want) {
				t.Errorf("next() at the end = %v, want %v", err, want)
			}
		})
	}
}

func TestDecodeBoundsMessageSize(t *testing.T) {
	// An endless string must fail once the bound is passed, not buffer forever.
	r := io.MultiReader(strings.NewReader(`{"return": "`), endless{})
	_, err := newDecoder(r).next()
	if !errors.Is(err, ErrProtocol) {
		t.Fatalf("next() = %v, want ErrProtocol for an oversized message", err)
	}
}

type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

// FuzzDecode feeds arbitrary bytes to the decoder: it must return messages
// or errors, never panic, and every message it returns must be well formed.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": ""}, "capabilities": ["oob"]}}` + "\r\n"))
	f.Add([]byte(`{"return": {}, "id": 1}` + "\r\n" + `{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "STOP"}`))
	f.Add([]byte(`{"error": {"class": "GenericError", "desc": "x"}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		d := newDecoder(strings.NewReader(string(in)))
		for range 64 {
			m, err := d.next()
			if err != nil {
				return
			}
			checkWellFormed(t, m)
		}
	})
}

func checkWellFormed(t *testing.T, m message) {
	t.Helper()
	switch m.kind {
	case kindGreeting, kindEvent:
	case kindReply:
		if (m.ret == nil) == (m.err == nil) {
			t.Fatalf("reply with return %q and error %v: want exactly one", m.ret, m.err)
		}
		if err := m.reply("fuzz", new(any)); err == nil && m.err != nil {
			t.Fatalf("error reply decoded without error")
		}
	default:
		t.Fatalf("message of unknown kind %d", m.kind)
	}
}
