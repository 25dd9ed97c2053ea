// Package dash is the run dashboard served by `tabler1 dash RUN_DIR...` and
// `tabler1 train --ui ADDR`: live curves of every metric of metrics.jsonl
// grouped by the part of its name before the first `/`, a rollout browser
// over rollouts/step-N.jsonl, and the eval reports found in the run
// directories.
//
// It only reads run directories, and reads runs being written safely: a
// partial last line is left for the next read. It scales to long runs by
// never holding rollouts in memory: a step's file is indexed once (byte
// offset and a short summary per sample, a bounded cache of indexes) and a
// sample is read back with a seek. The page is a single embedded HTML file
// with hand-written JavaScript drawing on canvas: nothing is fetched from
// elsewhere, so it works offline.
package dash
