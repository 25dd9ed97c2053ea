package sandbox

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"
)

// testSecret is set in the test process's environment before the shared
// pool starts; no job may see it.
const testSecret = "TABLER1_TEST_SECRET"

// shared is the pool most tests use: starting workers costs about a second
// each, so the tests share two. nil when Python with pandas is missing.
var (
	shared    *Pool
	sharedErr error
)

func TestMain(m *testing.M) {
	os.Setenv(testSecret, "sk-do-not-leak-4242")
	python := DefaultPython(os.Getenv)
	if err := exec.Command(python, "-c", "import pandas").Run(); err != nil {
		sharedErr = fmt.Errorf("%s cannot import pandas (%v): run scripts/setup.sh or set TABLER1_PYTHON", python, err)
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		shared, sharedErr = NewPool(ctx, PoolConfig{Workers: 2, Python: python, Grace: time.Second})
		cancel()
	}
	code := m.Run()
	if shared != nil {
		shared.Close()
	}
	os.Exit(code)
}

// pool returns the shared pool, or skips (fails when CI=true) without
// Python and pandas.
func pool(t testing.TB) *Pool {
	t.Helper()
	if shared == nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("sandbox pool: %v", sharedErr)
		}
		t.Skipf("sandbox pool unavailable: %v", sharedErr)
	}
	return shared
}
