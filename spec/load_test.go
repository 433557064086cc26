package spec

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadDefault(t *testing.T) {
	config, err := os.ReadFile(filepath.Join("testdata", "configs", "default.json"))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := Load(makeBundle(t, config))
	if err != nil {
		t.Fatal(err)
	}
	if spec.Version != "1.0.2-dev" || spec.Process.Args[0] != "sh" || spec.Root.Path != "rootfs" || len(spec.Mounts) != 7 {
		t.Errorf("Load read %+v, not the default spec", spec)
	}
}

func TestLoadErrors(t *testing.T) {
	const minimal = `{"ociVersion": "1.0.0", "process": {"args": ["sh"], "cwd": "/"}, "root": {"path": "%s"}}`
	tests := []struct {
		name   string
		config string // "" writes no config.json
		setup  func(t *testing.T, bundle string)
		want   []string
	}{
		{name: "no config", want: []string{"bundle <bundle>: no config.json", "runc spec"}},
		{name: "syntax error", config: "{\n  \"ociVersion\": \"1.0.0\",\n  \"process\": {\n    \"args\": [\"sh\",]\n  }\n}",
			want: []string{"<bundle>/config.json: line 4, column 19", "invalid character ']'"}},
		{name: "truncated", config: "{\n  \"ociVersion\": \"1.0.0\",\n", want: []string{"line 2, column 25", "unexpected end of JSON input"}},
		{name: "type error", config: "{\"ociVersion\": \"1.0.0\",\n \"process\": {\"args\": \"sh\"}}",
			want: []string{"field process.args: string where []string was expected (line 2, column 25)"}},
		{name: "nested type error", config: `{"ociVersion": "1.0.0", "linux": {"resources": {"memory": {"limit": "1G"}}}}`,
			want: []string{"field linux.resources.memory.limit: string where int64 was expected"}},
		{name: "not an object", config: `["ociVersion"]`, want: []string{"field (top level): array"}},
		{name: "no version", config: `{"process": {"args": ["sh"]}, "root": {"path": "rootfs"}}`, want: []string{"ociVersion is missing"}},
		{name: "version 2", config: `{"ociVersion": "2.0.0", "process": {"args": ["sh"]}, "root": {"path": "rootfs"}}`,
			want: []string{`ociVersion "2.0.0" is not supported: want 1.x`}},
		{name: "version garbage", config: `{"ociVersion": "latest", "process": {"args": ["sh"]}, "root": {"path": "rootfs"}}`,
			want: []string{`ociVersion "latest" is not supported`}},
		{name: "no root", config: `{"ociVersion": "1.0.0", "process": {"args": ["sh"]}}`, want: []string{"root.path is missing"}},
		{name: "empty root path", config: `{"ociVersion": "1.0.0", "process": {"args": ["sh"]}, "root": {"path": ""}}`, want: []string{"root.path is missing"}},
		{name: "rootfs missing", config: strings.Replace(minimal, "%s", "image", 1), want: []string{`root.path "image": <bundle>/image does not exist`}},
		{name: "rootfs is a file", config: strings.Replace(minimal, "%s", "file", 1),
			setup: func(t *testing.T, bundle string) {
				if err := os.WriteFile(filepath.Join(bundle, "file"), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{`root.path "file": <bundle>/file is not a directory`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var config []byte
			if tt.config != "" {
				config = []byte(tt.config)
			}
			bundle := makeBundle(t, config)
			if tt.setup != nil {
				tt.setup(t, bundle)
			}
			_, err := Load(bundle)
			if !errors.Is(err, ErrInvalidBundle) {
				t.Fatalf("Load: %v, want ErrInvalidBundle", err)
			}
			for _, w := range tt.want {
				w = strings.ReplaceAll(w, "<bundle>", bundle)
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestLoadAbsoluteRoot(t *testing.T) {
	root := t.TempDir()
	bundle := makeBundle(t, []byte(`{"ociVersion": "1.1.0", "process": {"args": ["sh"], "cwd": "/"}, "root": {"path": "`+root+`"}}`))
	spec, err := Load(bundle)
	if err != nil {
		t.Fatal(err)
	}
	if got := RootfsPath(bundle, spec.Root.Path); got != root {
		t.Errorf("RootfsPath = %q, want %q", got, root)
	}
}
