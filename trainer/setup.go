package trainer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"go.uber.org/zap"

	"tabler1/eval"
	"tabler1/layouts"
	"tabler1/rollout"
	"tabler1/sandbox"
	"tabler1/sandbox/execution"
)

// Options are what Setup takes from the outside world.
type Options struct {
	// Getenv reads secrets named by the configuration (nil: none set).
	Getenv func(string) string
	// Log is the structured log (nil: none).
	Log *zap.Logger
	// Progress and Terminal: see Deps.
	Progress io.Writer
	Terminal bool
}

// Setup builds everything a configuration names: the backend (embedded:
// the model served on a loopback port; remote: the HTTP client, checked
// with a health call), the rollout endpoint pool, the sandbox pool, the
// prompt format, the reward and the training data. The returned close
// function releases them (servers, worker processes).
func Setup(ctx context.Context, cfg *Config, o Options) (*Trainer, func() error, error) {
	log := o.Log
	if log == nil {
		log = zap.NewNop()
	}
	getenv := o.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	var closers []func() error
	closeAll := func() error {
		var errs []error
		for i := len(closers) - 1; i >= 0; i-- {
			errs = append(errs, closers[i]())
		}
		return errors.Join(errs...)
	}
	fail := func(err error) (*Trainer, func() error, error) {
		closeAll()
		return nil, nil, err
	}
	d := Deps{Log: log, Progress: o.Progress, Terminal: o.Terminal}
	if err := checkDataPaths(cfg); err != nil {
		return fail(err)
	}

	endpoints, modelName := cfg.Model.Endpoints, cfg.Model.Name
	switch cfg.Backend.Kind {
	case BackendEmbedded:
		eb, err := StartEmbedded(ctx, cfg.Model.Embedded, cfg.Seed, cfg.Model.Name, log.Named("model"))
		if err != nil {
			return fail(err)
		}
		closers = append(closers, eb.Close)
		d.Backend = eb
		endpoints = []rollout.EndpointConfig{{URL: eb.BaseURL, Server: rollout.ServerEmbedded}}
		modelName = eb.ModelName
		log.Info("embedded model serving", zap.String("url", eb.BaseURL), zap.Int("params", eb.Trainer().Model().NumParams()))
	case BackendRemote:
		rb, err := NewRemoteBackend(cfg.Backend, getenv, log.Named("backend"))
		if err != nil {
			return fail(err)
		}
		if err := backendHealth(ctx, rb, cfg.Backend.HealthTimeout, log); err != nil {
			return fail(err)
		}
		d.Backend = rb
	default:
		// The one place a backend is chosen: an unknown kind is refused,
		// never taken for another.
		return fail(fmt.Errorf("backend.kind %q is unknown; want %s or %s", cfg.Backend.Kind, BackendEmbedded, BackendRemote))
	}

	needsSandbox := cfg.hasGRPO() || cfg.Data.Synthetic.Verify || cfg.Eval.Every > 0
	limits := execution.Limits{Wall: cfg.Sandbox.Wall, MemoryBytes: int64(cfg.Sandbox.MemoryMB) << 20}
	switch {
	case needsSandbox && cfg.Sandbox.URL != "":
		// A SandboxFusion-compatible service: no local workers.
		d.Executor = sandbox.NewRemote(sandbox.RemoteConfig{URL: cfg.Sandbox.URL, Limits: limits,
			MaxConcurrent: cfg.Sandbox.Workers, Retries: 3, Logger: log.Named("sandbox")})
		log.Info("remote sandbox", zap.String("url", cfg.Sandbox.URL))
	case needsSandbox:
		pool, err := sandbox.NewPool(ctx, sandbox.PoolConfig{Workers: cfg.Sandbox.Workers, Python: cfg.Sandbox.Python,
			Limits: limits, Logger: log.Named("sandbox")})
		if err != nil {
			return fail(fmt.Errorf("starting the sandbox: %w", err))
		}
		closers = append(closers, pool.Close)
		d.Executor = pool
		log.Info("sandbox ready", zap.Int("workers", pool.Workers()), zap.Stringer("isolation", pool.Isolation()))
	}
	if d.Executor != nil && cfg.Sandbox.dedup() {
		d.Executor = &sandbox.Dedup{Exec: d.Executor}
	}
	if cfg.hasGRPO() || cfg.Eval.Every > 0 {
		r := cfg.Rollout
		pc := cfg.rolloutPool(endpoints, modelName)
		pc.Getenv = getenv
		pool, err := rollout.NewPool(pc, log.Named("rollout"))
		if err != nil {
			return fail(fmt.Errorf("rollout endpoints: %w", err))
		}
		closers = append(closers, pool.Close)
		if err := pool.Check(ctx, r.HealthTimeout); err != nil {
			return fail(fmt.Errorf("rollout endpoints: %w", err))
		}
		d.Generator = PoolGenerator{Pool: pool}
		d.Scorer = GRPOScorer{Config: cfg.Rewards, PreviewRows: r.PreviewRows, MaxTokens: r.MaxTokens}
		if cfg.Eval.Every > 0 {
			hc := cfg.Eval
			if hc.OutDir == "" {
				hc.OutDir = filepath.Join(cfg.RunDir, "eval")
			}
			if d.Eval, err = eval.NewHook(hc, d.Executor, log.Named("eval")); err != nil {
				return fail(err)
			}
			d.EvalModel = pool
		}
	}
	switch cfg.Rollout.Template {
	case "compact":
		d.Format = CompactFormat{PreviewRows: cfg.Rollout.PreviewRows}
	default:
		t, err := rollout.LoadTemplates(rollout.TemplateConfig{PreviewRows: cfg.Rollout.PreviewRows})
		if err != nil {
			return fail(err)
		}
		d.Format = RolloutFormat{Templates: t}
	}

	sources, err := loadSources(ctx, cfg, d.Executor, log)
	if err != nil {
		return fail(err)
	}
	d.Sources = sources
	t, err := New(cfg, d)
	if err != nil {
		return fail(err)
	}
	return t, closeAll, nil
}

// loadSources reads and generates the training items the stages draw from.
func loadSources(ctx context.Context, cfg *Config, ex execution.Executor, log *zap.Logger) (map[string][]Item, error) {
	out := map[string][]Item{}
	var tables []*layouts.Table
	for _, s := range cfg.Data.Sources {
		items, err := LoadSource(s)
		if err != nil {
			return nil, err
		}
		out[s.Path] = items
		for _, it := range items {
			tables = append(tables, it.Table)
		}
		log.Info("training data", zap.String("path", s.Path), zap.Int("items", len(items)))
	}
	if sy := cfg.Data.Synthetic; sy.Questions > 0 {
		items := Synthesize(cfg.Seed, sy.Questions, sy)
		if sy.Verify {
			kept, dropped, err := VerifyGold(ctx, ex, items)
			if err != nil {
				return nil, err
			}
			for _, d := range dropped {
				log.Warn("synthetic question dropped", zap.String("why", d))
			}
			if len(kept) == 0 {
				return nil, fmt.Errorf("synthetic data: no gold program printed its answer in the sandbox (first: %v)", dropped[:min(1, len(dropped))])
			}
			items = kept
		}
		out[SourceSynthetic] = items
		for _, it := range items {
			tables = append(tables, it.Table)
		}
		log.Info("synthetic questions", zap.Int("items", len(items)))
	}
	lti := cfg.Data.LTI
	switch {
	case lti.Path != "":
		items, err := LoadLTI(lti.Path)
		if err != nil {
			return nil, err
		}
		out[SourceLTI] = items
	case lti.Tasks > 0:
		if len(tables) == 0 {
			return nil, errors.New("LTI generation: data.lti.tasks needs source tables from data.sources or data.synthetic")
		}
		items, err := GenerateLTI(cfg.Seed, tables, lti.Tasks, lti.MaxOps, lti.MaxRows)
		if err != nil {
			return nil, err
		}
		out[SourceLTI] = items
		log.Info("LTI tasks generated", zap.Int("items", len(items)))
	}
	return out, nil
}
