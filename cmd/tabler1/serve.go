package main

import (
	"context"
	"fmt"
	"net"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"tabler1/model"
	"tabler1/model/server"
)

// cmdServe serves a checkpoint of the embedded model over the OpenAI API
// until interrupted.
func cmdServe(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "serve", "--checkpoint DIR [--addr HOST:PORT]", "Serve a checkpoint of the embedded model over an OpenAI-compatible API\n(/v1/models, /v1/completions, /v1/chat/completions, /tokenize, /detokenize).\nThe API key comes from --api-key or $TABLER1_API_KEY; without one, no auth.")
	ckpt := fs.String("checkpoint", "", "checkpoint directory (config.json + model.safetensors)")
	addr := fs.String("addr", "127.0.0.1:8000", "listen address; 127.0.0.1 keeps it local")
	name := fs.String("model-name", "tabler1-tiny", "model id served by /v1/models and expected in requests")
	apiKey := fs.String("api-key", "", "require 'Authorization: Bearer KEY' (default $TABLER1_API_KEY)")
	maxN := fs.Int("max-n", 64, "largest n a request may ask for")
	maxConc := fs.Int("max-concurrent", 0, "prompts generated at once (0: number of CPUs)")
	seed := fs.Uint64("seed", 0, "seed of requests that carry none")
	maxDecoding := fs.Int("max-decoding", 4, "request bodies read, decoded and tokenized at once (bounds memory under a burst)")
	readHeaderTimeout := fs.Duration("read-header-timeout", 10*time.Second, "limit on reading a request's headers")
	readTimeout := fs.Duration("read-timeout", time.Minute, "limit on reading a whole request, body included")
	writeTimeout := fs.Duration("write-timeout", 10*time.Minute, "limit from a request's headers to the end of its response; generation past it is cancelled")
	idleTimeout := fs.Duration("idle-timeout", 2*time.Minute, "keep-alive connections idle this long are closed")
	insecure := fs.Bool("insecure", false, "allow serving on a non-loopback address without an API key")
	if err := parseFlags(e, fs, args, false); err != nil {
		return err
	}
	if err := requireFlags(fs, "checkpoint"); err != nil {
		return err
	}
	key := *apiKey
	if key == "" {
		key = e.getenv("TABLER1_API_KEY")
	}
	if key == "" && !loopback(*addr) {
		if !*insecure {
			return fmt.Errorf("refusing to serve on %s, reachable from other machines, without an API key: set --api-key or $TABLER1_API_KEY, listen on 127.0.0.1, or pass --insecure to serve without one", *addr)
		}
		fmt.Fprintf(e.stderr, "warning: serving on %s without an API key (--insecure): anyone who can reach it can use the model\n", *addr)
	}
	m, err := model.Load(*ckpt)
	if err != nil {
		return err
	}
	logger := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(e.stderr), zap.InfoLevel))
	defer func() { _ = logger.Sync() }()
	s, err := server.New(server.Config{ModelName: *name, APIKey: key, MaxN: *maxN, MaxConcurrent: *maxConc, Seed: *seed, Logger: logger,
		MaxDecoding: *maxDecoding, ReadHeaderTimeout: *readHeaderTimeout, ReadTimeout: *readTimeout, WriteTimeout: *writeTimeout, IdleTimeout: *idleTimeout}, m)
	if err != nil {
		return err
	}
	c := m.Config()
	fmt.Fprintf(e.stderr, "serving %s (%d parameters, %d layers, width %d, context %d) on http://%s/v1\n", *name, m.NumParams(), c.Layers, c.Width, c.Context, *addr)
	return s.ListenAndServe(ctx, *addr)
}

// loopback reports whether addr (HOST:PORT) listens on a loopback address
// only; an empty host listens on every interface.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
