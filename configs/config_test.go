package configs

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/google/go-cmp/cmp"
)

func TestDefaultIsTheEmbeddedFile(t *testing.T) {
	onDisk, err := os.ReadFile("configuration.toml")
	if err != nil {
		t.Fatal(err)
	}
	if string(onDisk) != DefaultTOML() {
		t.Fatal("DefaultTOML() differs from configuration.toml on disk")
	}
	// Decoded onto a zero Config with every check Parse makes: no unknown
	// key, no wrong type, no bad value, and the same result as Default().
	var fromZero Config
	if err := overlay(&fromZero, "configuration.toml", string(onDisk)); err != nil {
		t.Fatalf("embedded file: %v", err)
	}
	if diff := cmp.Diff(Default(), &fromZero); diff != "" {
		t.Errorf("Default() differs from the file (-Default +file):\n%s", diff)
	}
	if err := Default().Validate(); err != nil {
		t.Errorf("defaults do not validate:\n%v", err)
	}
	parsed, err := Parse("configuration.toml", onDisk)
	if err != nil {
		t.Fatalf("Parse(embedded file): %v", err)
	}
	if diff := cmp.Diff(Default(), parsed); diff != "" {
		t.Errorf("Parse(embedded file) differs from Default():\n%s", diff)
	}
}

// TestDefaultFileSetsEveryKnob makes sure no default comes from a Go zero
// value: every field of every section is written in the file.
func TestDefaultFileSetsEveryKnob(t *testing.T) {
	var c Config
	md, err := toml.Decode(DefaultTOML(), &c)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range allKnobs() {
		if !md.IsDefined(strings.Split(key, ".")...) {
			t.Errorf("configuration.toml does not set %s", key)
		}
	}
}

// TestDefaultFileDocumentsEveryKnob checks the comment above each knob: it
// has an "Accepted:" line (for an enum, exactly the type's Values()) and a
// "Default:" line equal to the value the file sets.
func TestDefaultFileDocumentsEveryKnob(t *testing.T) {
	docs := knobDocs(t, DefaultTOML())
	for _, key := range allKnobs() {
		d, ok := docs[key]
		if !ok {
			t.Errorf("%s: no documented key line", key)
			continue
		}
		if len(d.meaning) == 0 {
			t.Errorf("%s: comment says nothing of what the knob does", key)
		}
		if d.def != d.value {
			t.Errorf("%s: comment says Default: %s, file sets %s", key, d.def, d.value)
		}
		if d.accepted == "" {
			t.Errorf("%s: no Accepted: line", key)
		}
		if values := enumValues(fieldType(key)); values != nil {
			if want := `"` + strings.Join(values, `" | "`) + `"`; d.accepted != want {
				t.Errorf("%s: Accepted: %s, the type accepts %s", key, d.accepted, want)
			}
		}
	}
}

type knobDoc struct {
	meaning       []string
	accepted, def string
	value         string
}

// knobDocs reads, for every key line of doc, the comment block right above it.
func knobDocs(t *testing.T, doc string) map[string]knobDoc {
	t.Helper()
	docs := map[string]knobDoc{}
	var table string
	var block []string
	for _, line := range strings.Split(doc, "\n") {
		switch {
		case strings.HasPrefix(line, "#"):
			block = append(block, strings.TrimSpace(strings.TrimPrefix(line, "#")))
			continue
		case strings.HasPrefix(line, "["):
			table = strings.Trim(line, "[]")
		case strings.Contains(line, " = "):
			k, v, _ := strings.Cut(line, " = ")
			d := knobDoc{value: v}
			for _, c := range block {
				if a, ok := strings.CutPrefix(c, "Accepted: "); ok {
					d.accepted = a
				} else if def, ok := strings.CutPrefix(c, "Default: "); ok {
					d.def = def
				} else {
					d.meaning = append(d.meaning, c)
				}
			}
			docs[table+"."+k] = d
		}
		block = nil
	}
	return docs
}

// allKnobs lists "section.knob" for every field of Config.
func allKnobs() []string {
	var keys []string
	ct := reflect.TypeFor[Config]()
	for _, section := range tomlKeys(ct) {
		f, _ := fieldByKey(ct, section)
		for _, knob := range tomlKeys(f.Type) {
			keys = append(keys, section+"."+knob)
		}
	}
	return keys
}

func fieldType(key string) reflect.Type {
	section, knob, _ := strings.Cut(key, ".")
	s, _ := fieldByKey(reflect.TypeFor[Config](), section)
	f, _ := fieldByKey(s.Type, knob)
	return f.Type
}

// enumValues returns the Values() of an enum type as strings, or nil.
func enumValues(t reflect.Type) []string {
	m, ok := t.MethodByName("Values")
	if !ok {
		return nil
	}
	out := m.Func.Call([]reflect.Value{reflect.Zero(t)})[0]
	var values []string
	for i := range out.Len() {
		values = append(values, out.Index(i).String())
	}
	return values
}

func TestEveryEnumRejectsUnknownValues(t *testing.T) {
	for _, key := range allKnobs() {
		ft := fieldType(key)
		values := enumValues(ft)
		if values == nil {
			continue
		}
		t.Run(key, func(t *testing.T) {
			if ft.Kind() != reflect.String {
				t.Fatalf("enum %s is not a string type", ft)
			}
			err := checkValue(ft, "bogus")
			if err == nil || !strings.Contains(err.Error(), listEnum(values)) {
				t.Errorf("bogus value: error %v does not list %s", err, listEnum(values))
			}
			for _, v := range values {
				if err := checkValue(ft, v); err != nil {
					t.Errorf("%q rejected: %v", v, err)
				}
			}
		})
	}
}

func TestPartialFileKeepsDefaults(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want func(c *Config)
	}{
		{"empty file", "", func(*Config) {}},
		{"only comments", "# nothing here\n", func(*Config) {}},
		{"one knob", "[hypervisor]\nvcpus = 2\n", func(c *Config) { c.Hypervisor.VCPUs = 2 }},
		{"dotted keys", "network.queues = 4\nnetwork.model = \"macvtap\"\n", func(c *Config) {
			c.Network.Queues, c.Network.Model = 4, NetMacvtap
		}},
		{"inline table", `agent = { transport = "vsock", dial_timeout = "1m" }`, func(c *Config) {
			c.Agent.Transport, c.Agent.DialTimeout = TransportVsock, Duration(60e9)
		}},
		{"several sections", "[shared_fs]\ndriver = \"virtio-9p\"\nextra_args = [\"-o\", \"posix_lock\"]\n[guest]\nextra_modules = [\"sctp\"]\n",
			func(c *Config) {
				c.SharedFS.Driver = FSVirtio9P
				c.SharedFS.ExtraArgs = []string{"-o", "posix_lock"}
				c.Guest.ExtraModules = []string{"sctp"}
			}},
		{"empty section", "[devices]\n", func(*Config) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse("partial.toml", []byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			want := Default()
			tt.want(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	c := Default()
	c.Hypervisor.KernelParams = `quiet "x=a b"`
	c.SharedFS.ExtraArgs = []string{"--rlimit-nofile=65536"}
	c.Agent.DialTimeout = Duration(1500e6)
	c.Devices.AllocationDir = "/var/run/kite-devices"

	t.Run("toml", func(t *testing.T) {
		var buf bytes.Buffer
		if err := c.EncodeTOML(&buf); err != nil {
			t.Fatal(err)
		}
		got, err := Parse("encoded.toml", buf.Bytes())
		if err != nil {
			t.Fatalf("%v\n%s", err, buf.String())
		}
		if diff := cmp.Diff(c, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("json", func(t *testing.T) {
		data, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		var got Config
		if err := json.Unmarshal(data, &got); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(c, &got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		// `kite env --json` must use the TOML names, and durations as text.
		var tree map[string]map[string]any
		if err := json.Unmarshal(data, &tree); err != nil {
			t.Fatal(err)
		}
		var jsonKeys []string
		for section, knobs := range tree {
			for knob := range knobs {
				jsonKeys = append(jsonKeys, section+"."+knob)
			}
		}
		slices.Sort(jsonKeys)
		if diff := cmp.Diff(slices.Sorted(slices.Values(allKnobs())), jsonKeys); diff != "" {
			t.Errorf("JSON keys differ from TOML keys (-toml +json):\n%s", diff)
		}
		if got := tree["agent"]["dial_timeout"]; got != "1.5s" {
			t.Errorf("agent.dial_timeout in JSON = %#v, want \"1.5s\"", got)
		}
	})
}

func TestCloneIsDeep(t *testing.T) {
	c := Default()
	c.Guest.ExtraModules = []string{"sctp"}
	c.SharedFS.ExtraArgs = []string{"--x"}
	before := jsonCopy(t, c) // independent of Clone
	clone := c.Clone()
	// Change every element of every slice of the clone, found by reflection
	// so that a slice field added later without a Clone line fails here.
	v := reflect.ValueOf(clone).Elem()
	for i := range v.NumField() {
		section := v.Field(i)
		for j := range section.NumField() {
			if f := section.Field(j); f.Kind() == reflect.Slice {
				for k := range f.Len() {
					f.Index(k).SetString("changed")
				}
			}
		}
	}
	if diff := cmp.Diff(before, c); diff != "" {
		t.Errorf("changing the clone changed the original:\n%s", diff)
	}
}

func jsonCopy(t *testing.T, c *Config) *Config {
	t.Helper()
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var out Config
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}
