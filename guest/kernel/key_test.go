package kernel

import (
	"context"
	"os/exec"
	"strings"
	"testing"
)

func TestKeyChangesWithEachInput(t *testing.T) {
	base := KeyInputs{
		Source:    Source{Package: "linux-source-6.1", Version: "6.1.192-3", SHA256: "aa", Path: "/cache/a.deb"},
		Fragments: []Fragment{mustParse(t, "kite.config", "CONFIG_A=y\n")},
		Toolchain: "gcc (Debian 12.2.0-14) 12.2.0; GNU ld (GNU Binutils for Debian) 2.40",
	}
	key := base.Key()
	if len(key) != 64 || key != base.Key() {
		t.Fatalf("Key() = %q, want a stable SHA-256", key)
	}
	moved := base
	moved.Source.Path = "/elsewhere/a.deb"
	if moved.Key() != key {
		t.Error("the key depends on where the source .deb lies")
	}
	changes := map[string]func(*KeyInputs){
		"source version": func(in *KeyInputs) { in.Source.Version = "6.1.193-1" },
		"source bytes":   func(in *KeyInputs) { in.Source.SHA256 = "bb" },
		"fragment value": func(in *KeyInputs) { in.Fragments = []Fragment{mustParse(t, "kite.config", "CONFIG_A=m\n")} },
		"fragment comment": func(in *KeyInputs) {
			in.Fragments = []Fragment{mustParse(t, "kite.config", "# why\nCONFIG_A=y\n")}
		},
		"extra fragment": func(in *KeyInputs) {
			in.Fragments = append(in.Fragments, mustParse(t, "extra.config", "CONFIG_B=m\n"))
		},
		"fragment order": func(in *KeyInputs) {
			in.Fragments = []Fragment{mustParse(t, "extra.config", "CONFIG_B=m\n"), in.Fragments[0]}
		},
		"compiler": func(in *KeyInputs) { in.Toolchain = "gcc (Debian 13.2.0-1) 13.2.0; GNU ld 2.41" },
	}
	seen := map[string]string{key: "base"}
	for name, change := range changes {
		in := base
		in.Fragments = append([]Fragment(nil), base.Fragments...)
		change(&in)
		k := in.Key()
		if other, dup := seen[k]; dup {
			t.Errorf("%s: key equals that of %s", name, other)
		}
		seen[k] = name
	}
}

func TestToolchain(t *testing.T) {
	for _, tool := range []string{"gcc", "ld"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s here", tool)
		}
	}
	tc, err := Toolchain(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tc, "gcc") || !strings.Contains(tc, "; ") {
		t.Errorf("Toolchain() = %q, want the gcc and ld version lines", tc)
	}
}
