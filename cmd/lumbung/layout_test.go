package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportDirection keeps the domain packages free of transports: ledger,
// members and menus never import echo, net/http or go-redis (DESIGN.md), and
// config imports nothing internal.
func TestImportDirection(t *testing.T) {
	forbidden := map[string][]string{
		"ledger":  {"github.com/labstack/echo", "net/http", "github.com/redis/go-redis", "github.com/lumbung-id/lumbung/members", "github.com/lumbung-id/lumbung/menus", "github.com/lumbung-id/lumbung/ussd"},
		"members": {"github.com/labstack/echo", "net/http", "github.com/redis/go-redis", "github.com/lumbung-id/lumbung/menus", "github.com/lumbung-id/lumbung/ussd"},
		"menus":   {"github.com/labstack/echo", "net/http", "github.com/redis/go-redis", "github.com/lumbung-id/lumbung/ussd"},
		"config":  {"github.com/lumbung-id/lumbung/"},
	}
	for pkg, bad := range forbidden {
		out, err := exec.Command("go", "list", "-deps", "github.com/lumbung-id/lumbung/"+pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if dep == "github.com/lumbung-id/lumbung/"+pkg {
				continue
			}
			for _, b := range bad {
				if dep == b || strings.HasPrefix(dep, b+"/") || (strings.HasSuffix(b, "/") && strings.HasPrefix(dep, b)) {
					t.Errorf("%s imports %s", pkg, dep)
				}
			}
		}
	}
}
