// Command archcheck checks the import rules and type sizes that
// docs/architecture.md states, over the module's packages: front ends
// talk to the engine only, subsystems never import each other, the VM
// knows no subsystem, nothing below the engine imports it, and no type
// grows past maxMethods methods. `make lint` runs it; it prints each
// violation and exits 1 if there is any.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
)

func main() {
	pkgs, err := listPackages()
	if err != nil {
		fmt.Fprintln(os.Stderr, "archcheck:", err)
		os.Exit(2)
	}
	var problems []string
	problems = append(problems, checkImports(pkgs)...)
	sizes, err := methodCounts(pkgs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "archcheck:", err)
		os.Exit(2)
	}
	problems = append(problems, checkSizes(sizes)...)
	for _, p := range problems {
		fmt.Println("archcheck:", p)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
}

// pkg is what go list says of one package.
type pkg struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Imports    []string
}

// listPackages runs go list over the module.
func listPackages() ([]pkg, error) {
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("reading go list: %w", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}
