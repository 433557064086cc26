package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ConfigName is the bundle's configuration file.
const ConfigName = "config.json"

// Load reads <bundle>/config.json and checks what every later step relies
// on: a 1.x ociVersion and a root file system directory that
// exists. Errors wrap ErrInvalidBundle and say which file, line or field is
// at fault.
func Load(bundle string) (*specs.Spec, error) {
	path := filepath.Join(bundle, ConfigName)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, bundleError("bundle %s: no %s (a bundle is a directory holding %s and the root file system; try: runc spec, or --bundle DIR)",
			bundle, ConfigName, ConfigName)
	}
	if err != nil {
		return nil, bundleError("reading %s: %v", path, err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		return nil, bundleError("%s: %s", path, describeJSONError(data, err))
	}
	if err := checkSpec(bundle, &spec); err != nil {
		return nil, bundleError("%s: %v", path, err)
	}
	return &spec, nil
}

// checkSpec checks the fields Load promises.
func checkSpec(bundle string, spec *specs.Spec) error {
	if err := checkFields(spec); err != nil {
		return err
	}
	root := RootfsPath(bundle, spec.Root.Path)
	fi, err := os.Stat(root)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("root.path %q: %s does not exist", spec.Root.Path, root)
	case err != nil:
		return fmt.Errorf("root.path %q: %w", spec.Root.Path, err)
	case !fi.IsDir():
		return fmt.Errorf("root.path %q: %s is not a directory", spec.Root.Path, root)
	}
	return nil
}

// checkFields checks, without touching the disk, the fields Load promises.
func checkFields(spec *specs.Spec) error {
	if spec == nil {
		return errors.New("no spec")
	}
	if err := checkVersion(spec.Version); err != nil {
		return err
	}
	if spec.Root == nil || spec.Root.Path == "" {
		return errors.New("root.path is missing: the root file system directory must be named")
	}
	return nil
}

// checkVersion accepts any 1.x version: minor versions only add fields.
func checkVersion(v string) error {
	if v == "" {
		return errors.New("ociVersion is missing")
	}
	major, _, _ := strings.Cut(v, ".")
	if n, err := strconv.Atoi(major); err != nil || n != specs.VersionMajor {
		return fmt.Errorf("ociVersion %q is not supported: want %d.x", v, specs.VersionMajor)
	}
	return nil
}

// RootfsPath is root.path resolved against the bundle, as the OCI spec
// says: an absolute path as is, a relative one under the bundle.
func RootfsPath(bundle, root string) string {
	if filepath.IsAbs(root) {
		return filepath.Clean(root)
	}
	return filepath.Join(bundle, root)
}

// describeJSONError says where config.json is wrong: the line and column of
// a syntax error, the field of a type error.
func describeJSONError(data []byte, err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		line, col := position(data, syn.Offset)
		return fmt.Sprintf("line %d, column %d: %v", line, col, syn)
	case errors.As(err, &typ):
		line, col := position(data, typ.Offset)
		field := typ.Field
		if field == "" {
			field = "(top level)"
		}
		return fmt.Sprintf("field %s: %s where %s was expected (line %d, column %d)", field, typ.Value, typ.Type, line, col)
	}
	return err.Error()
}

// position turns the decoder's offset, which is just past the byte where it
// stopped, into the 1-based line and column (in bytes) of that byte.
func position(data []byte, offset int64) (line, col int) {
	offset = min(max(offset-1, 0), int64(len(data)))
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = len(before) - bytes.LastIndexByte(before, '\n')
	return line, col
}
