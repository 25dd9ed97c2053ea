// Package tensorboard writes TensorBoard event files: scalars by name and
// step, so that `tensorboard --logdir runs/` shows a run's curves.
//
// An event file is a sequence of TFRecords (a little-endian uint64 length,
// its masked CRC32C, the data, the data's masked CRC32C) whose data are
// tensorflow.Event protocol buffers: the first carries file_version
// "brain.Event:2", each later one a step's Summary of simple_value scalars.
// The messages are encoded with google.golang.org/protobuf's protowire.
package tensorboard
