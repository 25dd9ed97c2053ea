package trainer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"go.uber.org/zap"

	"tabler1/rollout"
)

// Preflight runs the checks a run makes of the outside world before it
// starts, so that --dry-run refuses what a run would refuse: every data
// path exists; the remote backend's token variable is set and, unless
// offline, the backend answers its health check; the endpoints' API key
// variables are set and, unless offline, every endpoint answers GET
// /v1/models. It writes one line per check to report and returns every
// failure at once. (The embedded backend serves its own endpoint in-process:
// nothing to probe before it starts.)
func Preflight(ctx context.Context, cfg *Config, getenv func(string) string, offline bool, report func(string)) error {
	var errs []error
	check := func(what string, err error) {
		if err != nil {
			report("  FAIL " + what + ": " + err.Error())
			errs = append(errs, err)
			return
		}
		report("  ok   " + what)
	}
	for _, p := range cfg.dataPaths() {
		check("data "+p, pathExists(p))
	}
	network := func(what string, probe func() error) {
		if offline {
			report("  skip " + what + " (--offline)")
			return
		}
		check(what, probe())
	}
	if cfg.Backend.Kind == BackendRemote {
		rb, err := NewRemoteBackend(cfg.Backend, getenv, nil)
		check("backend.token_env", err)
		if err == nil {
			network("backend "+rb.URL+" health", func() error { return backendHealth(ctx, rb, cfg.Backend.HealthTimeout, nil) })
		}
		if cfg.hasGRPO() {
			pc := cfg.rolloutPool(cfg.Model.Endpoints, cfg.Model.Name)
			pc.Getenv = getenv
			pool, err := rollout.NewPool(pc, nil)
			check("rollout endpoints configuration", err)
			if err == nil {
				network("rollout endpoints GET /v1/models", func() error { return pool.Check(ctx, cfg.Rollout.HealthTimeout) })
				pool.Close()
			}
		}
	}
	return errors.Join(errs...)
}

// dataPaths are the files and directories a configuration reads.
func (c *Config) dataPaths() []string {
	var out []string
	for _, s := range c.Data.Sources {
		out = append(out, s.Path)
	}
	if c.Data.LTI.Path != "" {
		out = append(out, c.Data.LTI.Path)
	}
	return out
}

// checkDataPaths reports every data path of cfg that does not exist.
func checkDataPaths(cfg *Config) error {
	var errs []error
	for _, p := range cfg.dataPaths() {
		errs = append(errs, pathExists(p))
	}
	return errors.Join(errs...)
}

func pathExists(p string) error {
	if _, err := os.Stat(p); err != nil {
		return fmt.Errorf("training data %s: %w (paths are relative to the directory tabler1 runs in)", p, err)
	}
	return nil
}

// backendHealth asks a remote backend for its health within timeout.
func backendHealth(ctx context.Context, rb *RemoteBackend, timeout time.Duration, log *zap.Logger) error {
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	h, err := rb.Health(hctx)
	if err != nil {
		return fmt.Errorf("remote backend at %s is not answering its health check: %w", rb.URL, err)
	}
	if log != nil {
		log.Info("remote backend", zap.String("url", rb.URL), zap.Any("health", h))
	}
	return nil
}
