package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"unicode/utf8"
)

// apiError is the OpenAI error body: {"error": {...}}.
type apiError struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

func writeError(w http.ResponseWriter, status int, typ, code, param, msg string) {
	e := apiError{Message: msg, Type: typ}
	if code != "" {
		e.Code = &code
	}
	if param != "" {
		e.Param = &param
	}
	writeJSON(w, status, map[string]apiError{"error": e})
}

// badRequest is a 400 invalid_request_error naming the offending parameter.
func badRequest(w http.ResponseWriter, param, format string, args ...any) {
	writeError(w, http.StatusBadRequest, "invalid_request_error", "", param, fmt.Sprintf(format, args...))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":{"message":"encoding the response failed","type":"server_error"}}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// decodeBody reads a JSON request body into v, writing the error response
// itself and returning false on failure. As the OpenAI API does, it refuses
// a body that is not valid UTF-8 (the JSON decoder would silently replace
// the bad bytes) or that has anything but white space after the JSON value.
func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	var buf bytes.Buffer
	if n := r.ContentLength; n > 0 {
		buf.Grow(int(min(n, s.cfg.MaxBodyBytes) + 1)) // ReadFrom then needs no regrowth
	}
	if _, err := buf.ReadFrom(r.Body); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "invalid_request_error", "request_too_large", "",
				fmt.Sprintf("request body exceeds %d bytes", tooBig.Limit))
			return false
		}
		badRequest(w, "", "reading the request body failed: %v", err)
		return false
	}
	body := buf.Bytes()
	if !utf8.Valid(body) {
		badRequest(w, "", "request body is not valid UTF-8; send JSON encoded as UTF-8")
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		badRequest(w, "", "request body is not valid JSON for this endpoint: %v", err)
		return false
	}
	return true
}
