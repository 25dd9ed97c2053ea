package rollout

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// go-openai's request types lack the fields that ask vLLM and SGLang for
// token data (return_tokens_as_token_ids, return_token_ids), cannot send a
// temperature of 0 (the field is omitempty), and its response types drop the
// token ids those servers return (token_ids, prompt_token_ids). Rather than
// fork the library, the pool's go-openai clients send through hookTransport:
// a request whose context carries a *bodyHook gets the hook's extra JSON
// members spliced into its body, and its 2xx response body is kept in the
// hook for the pool to decode the fields go-openai does not know.

// bodyHook travels in a request's context from the pool to the transport.
type bodyHook struct {
	// extra is JSON object members without the braces, e.g.
	// `"return_token_ids":true,"temperature":0`; empty adds nothing.
	extra []byte
	// body is the response body of a 2xx answer, kept for decoding.
	body []byte
}

type hookKey struct{}

func withHook(ctx context.Context, h *bodyHook) context.Context {
	return context.WithValue(ctx, hookKey{}, h)
}

// maxResponseBytes bounds a kept response body; a larger one is an error
// rather than an unbounded allocation.
const maxResponseBytes = 256 << 20

// hookTransport is the http.RoundTripper of the pool's go-openai clients.
type hookTransport struct {
	base http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *hookTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	h, _ := req.Context().Value(hookKey{}).(*bodyHook)
	if h == nil {
		return t.base.RoundTrip(req)
	}
	if len(h.extra) > 0 && req.Body != nil {
		b, err := readAll(req.Body, req.ContentLength+int64(len(h.extra))+1)
		_ = req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("rollout: reading the request body to add fields: %w", err)
		}
		b, err = spliceMembers(b, h.extra)
		if err != nil {
			return nil, err
		}
		r2 := new(http.Request)
		*r2 = *req // a RoundTripper must not modify the caller's request
		r2.Body = io.NopCloser(bytes.NewReader(b))
		r2.ContentLength = int64(len(b))
		r2.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
		req = r2 // net/http writes Content-Length from r2.ContentLength
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil || resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp, err
	}
	body, err := readAll(io.LimitReader(resp.Body, maxResponseBytes+1), resp.ContentLength)
	_ = resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("rollout: reading the response body: %w", err)
	}
	if len(body) > maxResponseBytes {
		return nil, fmt.Errorf("rollout: response body larger than %d bytes", maxResponseBytes)
	}
	h.body = body
	// The pool decodes the kept body itself (it needs the fields go-openai
	// drops); go-openai gets an empty object, so that the body is not decoded
	// twice (a third of the client's CPU per request at 256 in flight).
	resp.Body = io.NopCloser(strings.NewReader(emptyObject))
	resp.ContentLength = int64(len(emptyObject))
	return resp, nil
}

const emptyObject = "{}"

// readAll is io.ReadAll with a first buffer of the expected size (a
// Content-Length), saving the regrowth copies.
func readAll(r io.Reader, size int64) ([]byte, error) {
	if size <= 0 || size > 64<<20 {
		size = 512
	}
	var buf bytes.Buffer
	buf.Grow(int(size) + 1)
	_, err := buf.ReadFrom(r)
	return buf.Bytes(), err
}

// spliceMembers adds members (JSON object members without braces) to the
// JSON object obj, before its closing brace.
func spliceMembers(obj, members []byte) ([]byte, error) {
	end := bytes.LastIndexByte(obj, '}')
	start := bytes.IndexByte(obj, '{')
	if start < 0 || end < start {
		return nil, fmt.Errorf("rollout: request body is not a JSON object; cannot add fields")
	}
	out := make([]byte, 0, len(obj)+len(members)+1)
	out = append(out, obj[:end]...)
	if len(bytes.TrimSpace(obj[start+1:end])) > 0 {
		out = append(out, ',')
	}
	out = append(out, members...)
	return append(out, obj[end:]...), nil
}
