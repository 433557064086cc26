package netmodels

import (
	"errors"
	"testing"
)

func TestTCFilterTapName(t *testing.T) {
	tests := []struct {
		index   int
		want    string
		wantErr bool
	}{
		{2, "tap2_kite", false},
		{1234567, "tap1234567_kite", false},
		{12345678, "", true},
	}
	for _, tt := range tests {
		got, err := tcfilterTapName(tt.index)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("tcfilterTapName(%d) = %q, %v; want %q, error %v", tt.index, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestCheckQueues(t *testing.T) {
	for _, q := range []int{1, 2, MaxQueues} {
		if err := checkQueues(q); err != nil {
			t.Errorf("checkQueues(%d) = %v, want nil", q, err)
		}
	}
	for _, q := range []int{-1, 0, MaxQueues + 1} {
		if err := checkQueues(q); !errors.Is(err, ErrQueues) {
			t.Errorf("checkQueues(%d) = %v, want ErrQueues", q, err)
		}
	}
}

func TestFreePriority(t *testing.T) {
	tests := []struct {
		used []uint16
		want uint16
	}{
		{nil, 1},
		{[]uint16{2, 3}, 1},
		{[]uint16{1, 2, 4}, 3},
		{[]uint16{49152}, 1},
	}
	for _, tt := range tests {
		if got := freePriority(tt.used); got != tt.want {
			t.Errorf("freePriority(%v) = %d, want %d", tt.used, got, tt.want)
		}
	}
}
