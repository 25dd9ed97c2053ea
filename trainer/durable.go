package trainer

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// tmpSuffix marks a file being written; a crash leaves it behind and
// cleanCheckpoints removes it.
const tmpSuffix = ".tmp"

// writeFileAtomic replaces path with data so that a crash leaves either the
// old file or the new one, never a torn one: it writes a temporary file in
// the same directory, syncs it, renames it over path and syncs the
// directory.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + tmpSuffix
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	return commitTemp(f, tmp, path)
}

// commitTemp syncs and closes f (the temporary file tmp), renames it to
// path and syncs path's directory. On failure tmp is removed.
func commitTemp(f *os.File, tmp, path string) error {
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

// syncDir makes the entries of dir (creations, renames) durable; on a
// regular file, it makes its contents durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncTree syncs every regular file under dir, then every directory,
// deepest first: what a backend wrote is on disk before the checkpoint
// counts as complete.
func syncTree(dir string) error {
	var dirs []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, p)
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return syncDir(p)
	})
	if err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := syncDir(dirs[i]); err != nil {
			return fmt.Errorf("syncing %s: %w", dirs[i], err)
		}
	}
	return nil
}

// removeTemps deletes the temporary files (name ending in ".tmp") under
// dir that an interrupted write left; it returns their paths.
func removeTemps(dir string) ([]string, error) {
	var removed []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), tmpSuffix) {
			if err := os.Remove(p); err != nil {
				return err
			}
			removed = append(removed, p)
		}
		return nil
	})
	return removed, err
}
