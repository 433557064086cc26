package qemu

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestBalloonRenders(t *testing.T) {
	for _, tc := range []struct {
		b    Balloon
		want string
	}{
		{Balloon{ID: "balloon", FreePageReporting: true, DeflateOnOOM: true},
			"virtio-balloon-pci,id=balloon,free-page-reporting=on,deflate-on-oom=on"},
		{Balloon{ID: "b1", Bus: "pcie.0"},
			"virtio-balloon-pci,id=b1,bus=pcie.0,free-page-reporting=off,deflate-on-oom=off"},
	} {
		c := minimalConfig()
		c.Devices = []Device{tc.b}
		cl, err := c.Build()
		if err != nil {
			t.Fatal(err)
		}
		i := slices.Index(cl.Args, tc.want)
		if i < 1 || cl.Args[i-1] != "-device" {
			t.Errorf("%+v: args lack -device %q:\n%s", tc.b, tc.want, strings.Join(cl.Args, " "))
		}
		// Over QMP the booleans are JSON booleans.
		j, err := tc.b.Parts(nil).Devices[0].MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if want := `"free-page-reporting":` + map[bool]string{true: "true", false: "false"}[tc.b.FreePageReporting]; !strings.Contains(string(j), want) {
			t.Errorf("device_add JSON %s lacks %s", j, want)
		}
	}
}

func TestBalloonBadID(t *testing.T) {
	c := minimalConfig()
	c.Devices = []Device{Balloon{ID: "0bad", FreePageReporting: true}}
	_, err := c.Build()
	var se *SpecError
	if !errors.As(err, &se) || se.Kind != balloonKind || se.Field != "ID" {
		t.Fatalf("Build() error = %v, want a balloon ID SpecError", err)
	}
}
