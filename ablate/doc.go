// Package ablate owns ablation studies: a base training configuration run
// under named arms (key overrides and dropped stages) times several seeds,
// each arm-seed trained in a run directory of its own and its final
// checkpoint evaluated on held-out data no arm trains on; the results are
// aggregated into one table (mean, standard deviation and a seeded
// bootstrap interval over seeds per arm) with the reward-hacking indicators
// of the training rollouts, and plots of each arm's curves with bands over
// seeds.
//
// The study file (LoadStudy) says what to run; Run schedules the arm-seeds
// in parallel and resumes a study (a finished arm-seed, marked by its
// result.json, is not rerun); Local is the Runner that trains through
// package trainer and evaluates through package eval's runner.
package ablate
