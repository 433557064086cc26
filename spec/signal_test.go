package spec

import (
	"errors"
	"syscall"
	"testing"
)

func TestParseSignal(t *testing.T) {
	tests := []struct {
		in   string
		want syscall.Signal
	}{
		{"TERM", syscall.SIGTERM},
		{"SIGTERM", syscall.SIGTERM},
		{"sigterm", syscall.SIGTERM},
		{"term", syscall.SIGTERM},
		{"15", syscall.SIGTERM},
		{"9", syscall.SIGKILL},
		{"KILL", syscall.SIGKILL},
		{"SIGHUP", syscall.SIGHUP},
		{"winch", syscall.SIGWINCH},
		{"IOT", syscall.SIGABRT},
		{"SIGCLD", syscall.SIGCHLD},
		{"RTMIN", 34},
		{"RTMIN+3", 37},
		{"SIGRTMIN+3", 37},
		{"rtmin+30", 64},
		{"RTMAX", 64},
		{"RTMAX-1", 63},
		{"64", 64},
		{"1", 1},
	}
	for _, tt := range tests {
		got, err := ParseSignal(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseSignal(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestParseSignalInvalid(t *testing.T) {
	for _, in := range []string{"FOO", "", "0", "65", "-1", "SIG", "RTMIN+31", "RTMIN-1", "RTMAX+1", "RTMIN+", "RTMIN+x", "TERM "} {
		_, err := ParseSignal(in)
		if !errors.Is(err, ErrInvalidSignal) {
			t.Errorf("ParseSignal(%q): %v, want ErrInvalidSignal", in, err)
		}
	}
	_, err := ParseSignal("FOO")
	if want := `invalid signal "FOO": want a name like TERM or a number 1-64`; err == nil || err.Error() != want {
		t.Errorf("ParseSignal(\"FOO\") error = %v, want %q", err, want)
	}
}
