package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
)

// maxMethods is the most methods a type may have.
const maxMethods = 25

// exempt are the types with one method per RPC of the agent's protocol:
// its service, its client, and the client ttrpc generates.
var exempt = []string{"agent/server.Service", "agent/client.Client", "agent/protocol.agentClient"}

// methodCounts counts the methods declared on each named type, per
// package, in non-test files.
func methodCounts(pkgs []pkg) (map[string]int, error) {
	counts := map[string]int{}
	fset := token.NewFileSet()
	for _, p := range pkgs {
		r := rel(p.ImportPath)
		for _, f := range p.GoFiles {
			file, err := parser.ParseFile(fset, filepath.Join(p.Dir, f), nil, parser.SkipObjectResolution)
			if err != nil {
				return nil, err
			}
			for _, d := range file.Decls {
				if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv != nil && len(fn.Recv.List) == 1 {
					counts[r+"."+receiver(fn.Recv.List[0].Type)]++
				}
			}
		}
	}
	return counts, nil
}

// receiver is the name of a method's receiver type.
func receiver(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.StarExpr:
		return receiver(t.X)
	case *ast.IndexExpr:
		return receiver(t.X)
	case *ast.IndexListExpr:
		return receiver(t.X)
	case *ast.Ident:
		return t.Name
	}
	return "?"
}

// checkSizes reports the types past maxMethods.
func checkSizes(counts map[string]int) []string {
	var problems []string
	for typ, n := range counts {
		if n > maxMethods && !slices.Contains(exempt, typ) {
			problems = append(problems, fmt.Sprintf("%s has %d methods (at most %d): split it", typ, n, maxMethods))
		}
	}
	slices.SortFunc(problems, strings.Compare)
	return problems
}
