package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"tabler1/dash"
)

// cmdDash serves the dashboard of run directories (package dash).
func cmdDash(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "dash", "[--addr 127.0.0.1:8080] [--token T] RUN_DIR...",
		"Serve a dashboard of run directories: live curves of every metric, the rollout browser and eval\nreports. Read-only. Another address than a loopback one needs --token (or TABLER1_DASH_TOKEN).")
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	token := fs.String("token", "", "token every request must carry (?token= once); required off loopback")
	if err := parseFlags(e, fs, args, true); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return usageError{"at least one RUN_DIR is required"}
	}
	if *token == "" {
		*token = e.getenv("TABLER1_DASH_TOKEN")
	}
	for _, d := range fs.Args() {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			return fmt.Errorf("run directory %s: not a directory (%v)", d, err)
		}
	}
	l, err := dash.Listen(*addr, *token)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "tabler1 dash: serving %d run(s) on %s\n", fs.NArg(), dashURL(l, *token))
	return serveDash(ctx, l, fs.Args(), *token)
}

// serveDash serves the dashboard on l until ctx is done.
func serveDash(ctx context.Context, l net.Listener, dirs []string, token string) error {
	s, err := dash.New(dirs, token)
	if err != nil {
		l.Close()
		return err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}

func dashURL(l net.Listener, token string) string {
	u := "http://" + l.Addr().String() + "/"
	if token != "" {
		u += "?token=" + token
	}
	return u
}
