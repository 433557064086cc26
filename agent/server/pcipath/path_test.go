package pcipath

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    []uint8
		wantStr string
		wantErr bool
	}{
		{in: "02/00", want: []uint8{2, 0}, wantStr: "02/00"},
		{in: "1f", want: []uint8{0x1f}, wantStr: "1f"},
		{in: "3/a/1", want: []uint8{3, 0xa, 1}, wantStr: "03/0a/01"},
		{in: "", wantErr: true},
		{in: "02/", wantErr: true},
		{in: "/02", wantErr: true},
		{in: "20", wantErr: true},
		{in: "002", wantErr: true},
		{in: "0g", wantErr: true},
		{in: "-1", wantErr: true},
		{in: "01/01/01/01/01/01/01/01/01", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := Parse(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("Parse(%q) error = %v, want ErrInvalid", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, p.Slots()); diff != "" {
				t.Errorf("slots mismatch (-want +got):\n%s", diff)
			}
			if got := p.String(); got != tt.wantStr {
				t.Errorf("String() = %q, want %q", got, tt.wantStr)
			}
		})
	}
}
