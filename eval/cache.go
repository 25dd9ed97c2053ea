package eval

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync"
)

// Cache holds completed samples in a JSONL file keyed by (bench, id, sample
// index), so that an interrupted or repeated eval skips what is done. A nil
// *Cache caches nothing.
type Cache struct {
	mu   sync.Mutex
	f    *os.File
	path string
	m    map[cacheKey]Sample
}

type cacheKey struct {
	bench, id string
	index     int
}

// CacheFile and CacheMetaFile are the cache's file names in an output
// directory.
const (
	CacheFile     = "samples.jsonl"
	CacheMetaFile = "samples.meta.json"
)

// OpenCache opens (creating) the cache in dir. settings describes what the
// samples depend on (model, mode, sampling, prompts); a cache made with
// other settings is an error rather than silently mixed in. A torn last line
// (an interrupted write) is dropped.
func OpenCache(dir string, settings map[string]any) (*Cache, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("eval cache: %w", err)
	}
	metaPath := filepath.Join(dir, CacheMetaFile)
	want, err := json.Marshal(settings)
	if err != nil {
		return nil, fmt.Errorf("eval cache settings: %w", err)
	}
	if old, err := os.ReadFile(metaPath); err == nil {
		var a, b any
		if json.Unmarshal(old, &a) != nil || json.Unmarshal(want, &b) != nil || !reflect.DeepEqual(a, b) {
			return nil, fmt.Errorf("the eval cache in %s was made with other settings (%s, now %s): use another output directory, or delete %s to start over",
				dir, bytes.TrimSpace(old), want, CacheFile)
		}
	} else if err := os.WriteFile(metaPath, append(want, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("eval cache: %w", err)
	}
	path := filepath.Join(dir, CacheFile)
	c := &Cache{path: path, m: map[cacheKey]Sample{}}
	if b, err := os.ReadFile(path); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, maxLine)
		for sc.Scan() {
			var s Sample
			if json.Unmarshal(sc.Bytes(), &s) != nil {
				continue // a torn line from an interrupted run
			}
			c.m[cacheKey{s.Bench, s.ID, s.Index}] = s
		}
		// A torn last line has no newline: start the next record on its own.
		if len(b) > 0 && b[len(b)-1] != '\n' {
			if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
				return nil, fmt.Errorf("eval cache: %w", err)
			}
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("eval cache: %w", err)
	}
	c.f = f
	return c, nil
}

// Len is the number of cached samples.
func (c *Cache) Len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// Get returns the cached sample, if any.
func (c *Cache) Get(bench, id string, index int) (Sample, bool) {
	if c == nil {
		return Sample{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.m[cacheKey{bench, id, index}]
	return s, ok
}

// Put records a completed sample.
func (c *Cache) Put(s Sample) error {
	if c == nil {
		return nil
	}
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("eval cache: sample %s/%s#%d: %w", s.Bench, s.ID, s.Index, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("eval cache %s: %w", c.path, err)
	}
	c.m[cacheKey{s.Bench, s.ID, s.Index}] = s
	return nil
}

// Close closes the cache file.
func (c *Cache) Close() error {
	if c == nil || c.f == nil {
		return nil
	}
	return c.f.Close()
}
