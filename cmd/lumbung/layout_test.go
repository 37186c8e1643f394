package main

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/lumbung-id/lumbung"

// testHelpers are the packages made for tests (DESIGN.md: they live beside
// what they help). Only tests may import them.
func isTestHelper(pkg string) bool {
	return strings.HasPrefix(pkg, module+"/") && strings.HasSuffix(pkg, "test")
}

// TestImportDirection keeps imports pointing one way (DESIGN.md, README
// "Layout"): the domain packages (ledger, members, service, menus) never
// import a transport (echo, net/http, go-redis) nor a package above them;
// config imports nothing internal; and no package that is not itself a test
// helper — cmd included, so the production binary — links `testing` or a
// test helper.
func TestImportDirection(t *testing.T) {
	transports := []string{"github.com/labstack/echo", "net/http", "github.com/redis/go-redis"}
	above := func(pkgs ...string) []string {
		out := append([]string{}, transports...)
		for _, p := range pkgs {
			out = append(out, module+"/"+p)
		}
		return out
	}
	forbidden := map[string][]string{
		"ledger":  above("members", "service", "menus", "ussd", "sms", "api", "cmd"),
		"members": above("service", "menus", "ussd", "sms", "api", "cmd"),
		"service": above("menus", "ussd", "sms", "api", "cmd"),
		"menus":   above("ussd", "sms", "api", "cmd"),
		"api":     {module + "/menus", module + "/ussd", module + "/sms", module + "/cmd"},
		"config":  {module + "/"},
	}
	out, err := exec.Command("go", "list", module+"/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	pkgs := strings.Fields(string(out))
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %v", pkgs)
	}
	for _, pkg := range pkgs {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		short := strings.TrimPrefix(pkg, module+"/")
		bad := forbidden[short]
		for _, dep := range strings.Fields(string(out)) {
			if dep == pkg {
				continue
			}
			for _, b := range bad {
				if dep == b || strings.HasPrefix(dep, b+"/") || (strings.HasSuffix(b, "/") && strings.HasPrefix(dep, b)) {
					t.Errorf("%s imports %s", short, dep)
				}
			}
			if !isTestHelper(pkg) && (dep == "testing" || isTestHelper(dep)) {
				t.Errorf("%s links test code: %s", short, dep)
			}
		}
	}
}
