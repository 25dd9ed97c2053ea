package trainer

import (
	"context"
	"strings"
	"testing"
)

// An unknown backend kind is refused where backends are chosen, not taken
// for the remote one.
func TestSetupRefusesUnknownBackendKind(t *testing.T) {
	cfg, err := ParseConfig([]byte(resumeConfig))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Backend.Kind = "torch"
	cfg.RunDir = t.TempDir()
	tr, closeAll, err := Setup(context.Background(), cfg, Options{})
	if err == nil {
		closeAll()
		t.Fatalf("Setup with backend.kind torch built %v; want an error", tr)
	}
	if !strings.Contains(err.Error(), `backend.kind "torch" is unknown`) {
		t.Errorf("error %q does not name the unknown kind", err)
	}
}
