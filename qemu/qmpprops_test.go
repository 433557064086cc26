package qemu

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestQMPProps(t *testing.T) {
	got, err := QMPProps([]Prop{
		Str("filename", "/a,b"), Int("size", 1<<40), Int("neg", -3), Bool("read-only", true),
		Bool("cache.direct", true), Bool("cache.no-flush", false), Str("romfile", ""), Str("x.y.z", "deep"),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"filename": "/a,b", "size": int64(1 << 40), "neg": int64(-3), "read-only": true,
		"cache":   map[string]any{"direct": true, "no-flush": false},
		"romfile": "",
		"x":       map[string]any{"y": map[string]any{"z": "deep"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("QMPProps (-want +got):\n%s", diff)
	}
}

func TestQMPPropsRefusesMalformed(t *testing.T) {
	for name, props := range map[string][]Prop{
		"int text":           {{Key: "size", Value: "4k", Type: PropInt}},
		"bool text":          {{Key: "share", Value: "true", Type: PropBool}},
		"unknown type":       {{Key: "k", Value: "v", Type: PropType(9)}},
		"value then nested":  {Str("cache", "none"), Bool("cache.direct", true)},
		"nested then value":  {Bool("cache.direct", true), Str("cache", "none")},
		"empty key part":     {Str("cache..direct", "x")},
		"trailing dot":       {Str("cache.", "x")},
		"empty key":          {Str("", "x")},
		"nested under value": {Int("a.b", 1), Int("a.b.c", 2)},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := QMPProps(props); !errors.Is(err, ErrInvalid) {
				t.Errorf("QMPProps(%v) = %v, want ErrInvalid", props, err)
			}
		})
	}
}

// TestQMPPropsAgreesWithMarshalJSON checks that the typed conversion hot
// plug sends gives, for every part of every device kind, the same JSON
// values as the MarshalJSON encodings the golden files pin.
func TestQMPPropsAgreesWithMarshalJSON(t *testing.T) {
	for _, d := range fullConfig().Devices {
		p := d.Parts(&NamedFDs{Prefix: "fd-"})
		for _, o := range p.Objects {
			sameArgs(t, o, o.Props, "qom-type", o.QOMType, "id", o.ID)
		}
		for _, n := range p.Netdevs {
			sameArgs(t, n, n.Props, "type", n.Type, "id", n.ID)
		}
		for _, b := range p.Blockdevs {
			sameArgs(t, b, b.Props, "driver", b.Driver, "node-name", b.NodeName)
		}
		for _, dp := range p.Devices {
			sameArgs(t, dp, dp.all(), "driver", dp.Driver)
		}
	}
}

// sameArgs compares part's MarshalJSON with QMPProps(props) plus the fixed
// key/value fields.
func sameArgs(t *testing.T, part any, props []Prop, fixed ...string) {
	t.Helper()
	m, err := QMPProps(props)
	if err != nil {
		t.Fatalf("%+v: %v", part, err)
	}
	for i := 0; i < len(fixed); i += 2 {
		m[fixed[i]] = fixed[i+1]
	}
	var got, want any
	roundTrip(t, m, &got)
	roundTrip(t, part, &want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%+v: QMPProps disagrees with MarshalJSON (-marshal +qmpprops):\n%s", part, diff)
	}
}

func roundTrip(t *testing.T, v, into any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, into); err != nil {
		t.Fatal(err)
	}
}
