package cli

import (
	"context"
	"encoding/json"
)

func runEnv(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "env", "")
	asJSON := fs.Bool("json", false, "print JSON instead of TOML")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	if !*asJSON {
		return cfg.EncodeTOML(e.io.Out)
	}
	enc := json.NewEncoder(e.io.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(cfg)
}
